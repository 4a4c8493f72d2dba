// Tab icons as inline SVG (24x24 strokes): no icon font and no emoji font needed.
const PATHS = {
  me: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0',
};

/** Areas add their tab icons (src/areas/index.js). */
export function addIcons(table) {
  Object.assign(PATHS, table);
}

export function Icon({ name }) {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d={PATHS[name]} />
    </svg>
  );
}
