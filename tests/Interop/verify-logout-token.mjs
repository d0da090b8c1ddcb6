// Validates an OpenID Back-Channel Logout 1.0 logout token with jose (the JOSE library openid-client builds on),
// independently of the provider's .NET code: signature against the published JWKS, typ logout+jwt, iss, aud, iat,
// exp, jti, sub and/or sid, the back-channel logout event, and no nonce (spec section 2.4 and 2.6).
//
// Input on stdin, JSON: { "token": "...", "jwks": { "keys": [...] }, "issuer": "...", "audience": "..." }
// Output on stdout: the payload as JSON; exit code 0 only when every check passed.
import { createLocalJWKSet, jwtVerify } from 'jose';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const check = (condition, message) => {
  if (!condition) throw new Error(`check failed: ${message}`);
};

try {
  const { payload, protectedHeader } = await jwtVerify(input.token, createLocalJWKSet(input.jwks), {
    issuer: input.issuer,
    audience: input.audience,
    typ: 'logout+jwt',
    requiredClaims: ['iat', 'exp', 'jti', 'events'],
  });
  check(protectedHeader.alg !== 'none', 'signed');
  check(typeof payload.sub === 'string' || typeof payload.sid === 'string', 'sub and/or sid');
  const event = payload.events?.['http://schemas.openid.net/event/backchannel-logout'];
  check(event !== null && typeof event === 'object' && !Array.isArray(event), 'events carries the back-channel logout event as a JSON object');
  check(!('nonce' in payload), 'no nonce');
  console.log(JSON.stringify(payload));
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
