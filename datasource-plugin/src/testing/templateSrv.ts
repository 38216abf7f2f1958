/**
 * A TemplateSrv for tests built on @grafana/scenes, the engine Grafana 12's own TemplateSrv hands
 * interpolation to on scenes-powered dashboards (sceneGraph.interpolate with the panel's scoped
 * variables and the caller's format): dashboard variables are real scenes CustomVariables.
 */
import { TypedVariableModel } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';
import { CustomVariable, EmbeddedScene, SceneFlexLayout, sceneGraph, SceneVariableSet } from '@grafana/scenes';

export interface TestVariable {
  name: string;
  /** the variable's options. */
  values: string[];
  /** the selection: a value, several (multi), or "$__all" (All). */
  current: string | string[];
  multi?: boolean;
  includeAll?: boolean;
  /** the custom all value ("Custom all value" in the variable editor). */
  allValue?: string;
}

export function sceneTemplateSrv(variables: TestVariable[]): TemplateSrv {
  const scene = new EmbeddedScene({
    $variables: new SceneVariableSet({
      variables: variables.map(
        (v) =>
          new CustomVariable({
            name: v.name,
            query: v.values.join(','),
            options: v.values.map((x) => ({ label: x, value: x })),
            value: v.current,
            text: v.current,
            isMulti: v.multi ?? false,
            includeAll: v.includeAll ?? false,
            ...(v.allValue !== undefined ? { allValue: v.allValue } : {}),
          })
      ),
    }),
    body: new SceneFlexLayout({ children: [] }),
  });
  return {
    getVariables: () =>
      variables.map(
        (v) =>
          ({
            name: v.name,
            type: 'custom',
            multi: v.multi ?? false,
            includeAll: v.includeAll ?? false,
            current: { value: v.current, text: v.current },
            options: v.values.map((x) => ({ text: x, value: x, selected: false })),
          }) as unknown as TypedVariableModel
      ),
    replace: (target, scopedVars, format, interpolations) =>
      sceneGraph.interpolate(
        scene,
        target,
        scopedVars,
        format as Parameters<typeof sceneGraph.interpolate>[3],
        interpolations
      ),
    containsTemplate: (target) => !!target && /\$\w|\$\{|\[\[/.test(target),
    updateTimeRange: () => undefined,
  };
}
