// The public event page's live totals (server/templates/event.html): the figures come
// over server-sent events from the address in this script tag's data-stream. A file of
// its own, not inline, so the page's Content-Security-Policy can say script-src 'self'.
(function () {
  'use strict';
  var script = document.currentScript;
  var url = script && script.getAttribute('data-stream');
  if (!url || !('EventSource' in window)) return;
  function yuan(f) {
    var s = f < 0 ? '-' : '';
    f = Math.abs(f);
    return s + Math.floor(f / 100).toLocaleString('en-US') + '.' + String(f % 100).padStart(2, '0');
  }
  function put(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent = text;
  }
  var es = new EventSource(url);
  es.addEventListener('totals', function (e) {
    var t = JSON.parse(e.data);
    put('money', yuan(t.money_fen));
    put('money_count', t.money_count);
    put('goods', yuan(t.goods_value_fen));
    put('goods_count', t.goods_count);
  });
})();
