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
