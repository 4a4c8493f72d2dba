// A long list that renders only the rows on screen (and a few either side), scrolled with
// the page itself: a station's 10,000 gifts open and scroll without freezing the phone.
// The windowing is @tanstack/virtual-core's (framework-free); this is its Preact binding,
// as its React adapter does it. Loaded lazily (a chunk of its own): short lists never need it.
import { useLayoutEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import {
  Virtualizer, measureElement, observeWindowOffset, observeWindowRect, windowScroll,
} from '@tanstack/virtual-core';

/** `items` in a `<ul class={className}>`, each `<li>` made by `render(item)`, keyed by
 *  `keyOf(item)`; `estimate` is a row's expected height in px (rows are measured as they show). */
export default function WindowList({ items, keyOf, render, estimate, className = '', overscan = 8, testid }) {
  const list = useRef(null);
  const [, rerender] = useReducer((n) => n + 1, 0);
  // where the list starts on the page (the totals and buttons above it): read once laid
  // out and on resize, never per render (it forces a layout, and renders come per scroll)
  const [top, setTop] = useState(0);
  // new only with a new list: the windowing re-reads every row's key when this changes
  const getItemKey = useMemo(() => (index) => keyOf(items[index]), [items]);
  const estimateSize = useMemo(() => () => estimate, [estimate]);
  const options = {
    count: items.length,
    getScrollElement: () => window,
    estimateSize,
    getItemKey,
    scrollToFn: windowScroll,
    observeElementRect: observeWindowRect,
    observeElementOffset: observeWindowOffset,
    measureElement,
    initialOffset: () => window.scrollY,
    scrollMargin: top,
    overscan,
    onChange: () => rerender(),
  };
  const [virtualizer] = useState(() => new Virtualizer(options));
  virtualizer.setOptions(options);
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => { virtualizer._willUpdate(); });
  useLayoutEffect(() => {
    const place = () => setTop(Math.round(list.current.getBoundingClientRect().top + window.scrollY));
    place();
    addEventListener('resize', place);
    return () => removeEventListener('resize', place);
  }, [items.length]);
  return (
    <ul ref={list} class={`windowlist ${className}`} style={{ height: `${virtualizer.getTotalSize()}px` }}
      data-testid={testid} data-total={items.length}>
      {virtualizer.getVirtualItems().map((row) => (
        <li key={row.key} data-index={row.index} ref={virtualizer.measureElement}
          style={{ transform: `translateY(${row.start - top}px)` }}>
          {render(items[row.index])}
        </li>
      ))}
    </ul>
  );
}
