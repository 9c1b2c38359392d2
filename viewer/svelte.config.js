// Vite's Svelte plugin looks for this file; the defaults are what mqlive wants.
export default {};
