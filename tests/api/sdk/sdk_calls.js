// sdk_calls.js: the official Alibaba Cloud SDK (@alicloud/openapi-client)
// calls a running `osmig serve`, signing with ACS3-HMAC-SHA256 as it does for
// Alibaba Cloud itself. Each call given as JSON on argv[2] (a list of
// {method, path, body}) is answered by one line of JSON on stdout: the
// success's status, headers and body, or the SDK's error (code, message, data).
// Environment: OSMIG_SDK_ENDPOINT (127.0.0.1:PORT), OSMIG_SDK_KEY_ID, OSMIG_SDK_SECRET.
'use strict';
const OpenApi = require('@alicloud/openapi-client');

async function main() {
  const client = new OpenApi.default(new OpenApi.Config({
    accessKeyId: process.env.OSMIG_SDK_KEY_ID,
    accessKeySecret: process.env.OSMIG_SDK_SECRET,
    endpoint: process.env.OSMIG_SDK_ENDPOINT,
    protocol: 'http',
  }));
  for (const call of JSON.parse(process.argv[2])) {
    const params = new OpenApi.Params({
      action: 'Osmig', version: 'v1', protocol: 'HTTP', pathname: call.path, method: call.method,
      authType: 'AK', style: 'ROA', reqBodyType: 'json', bodyType: 'json',
    });
    const request = new OpenApi.OpenApiRequest(call.body === undefined ? {} : { body: call.body });
    try {
      const r = await client.callApi(params, request, { autoretry: false, readTimeout: 30000 });
      console.log(JSON.stringify({ ok: true, status: r.statusCode, headers: r.headers, body: r.body }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, code: e.code, message: e.message, data: e.data }));
    }
  }
}
main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
