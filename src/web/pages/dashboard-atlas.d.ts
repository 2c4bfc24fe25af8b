// world-atlas ships its TopoJSON as plain JSON files; Vite bundles the import and the map checks its shape.
declare module 'world-atlas/countries-110m.json' {
  const atlas: unknown;
  // eslint-disable-next-line no-restricted-syntax -- a JSON module has only a default export.
  export default atlas;
}
