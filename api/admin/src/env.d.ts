/** vite: `import text from './x.css?inline'` is the file's text. */
declare module '*.css?inline' {
  const text: string;
  export default text;
}
