// The receipt check form of the public fund pages (server/templates/receipt_form.html):
// the number goes into the path (/public/receipts/<number>?code=...), the code stays in
// the query. A file of its own, not an inline onsubmit, so script-src 'self' holds.
(function () {
  'use strict';
  var forms = document.querySelectorAll('form[data-receipt-form]');
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener('submit', function () {
      form.action = '/public/receipts/' + encodeURIComponent(form.elements.number.value.trim());
      form.elements.number.disabled = true; // not sent again as ?number=
    });
    window.addEventListener('pageshow', function () { form.elements.number.disabled = false; });
  });
})();
