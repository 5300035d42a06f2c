// Renders /api/docs/openapi.json with swagger-ui (copied from the npm
// package swagger-ui-dist into /vendor/swagger-ui/ by scripts/setup).
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: '/api/docs/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  tryItOutEnabled: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
