// Starts Swagger UI on /schema (server/openapi.py). A file, not the inline script
// Litestar's page carries, so /schema keeps the server's Content-Security-Policy
// (script-src 'self'); the document is fetched from /schema/openapi.json.
(function () {
  'use strict';
  var script = document.currentScript;
  var url = (script && script.getAttribute('data-spec')) || '/schema/openapi.json';
  window.ui = SwaggerUIBundle({
    url: url,
    dom_id: '#swagger-container',
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
