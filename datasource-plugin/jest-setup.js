// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// jsdom has no IntersectionObserver; @grafana/scenes (the TemplateSrv of the tests) constructs one
// when its lazy-loading layout module loads. Nothing under test observes intersections.
if (typeof globalThis.IntersectionObserver === 'undefined') {
  globalThis.IntersectionObserver = class IntersectionObserver {
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  };
}

// jsdom has no canvas (the scaffold's setup makes getContext return undefined); Grafana's
// Combobox sizes its menu with a 2d context's measureText. Text width here: 8 px per character.
HTMLCanvasElement.prototype.getContext = function getContext(kind) {
  return kind === '2d' ? { font: '', measureText: (text) => ({ width: String(text).length * 8 }) } : null;
};

// findBy* and waitFor wait on the real api over HTTP (test/globalSetup.js): testing-library's
// default of 1 s is shorter than a loaded 2-core machine can take to answer, which failed
// QueryEditor tests by chance on a fresh clone (issue #12). The wait ends as soon as the element
// appears, so this costs nothing when the machine is quick.
import { configure } from '@testing-library/react';
configure({ asyncUtilTimeout: 10_000 });
