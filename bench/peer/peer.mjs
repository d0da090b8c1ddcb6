// The benchmark's peer (bench/run.sh, issue #14): node oidc-provider, in memory, with settings equivalent to CafConnect's
// for the measured grants — JWT access tokens (RS256) for a resource, 5-minute access and ID tokens, refresh tokens
// rotated at every use, client_secret_basic for confidential clients, PKCE. Not a test double of CafConnect: a
// reference implementation to compare with, on the same machine, in the same run.
//
//   node peer.mjs                 serves on 127.0.0.1:$PEER_PORT (default 18600)
//   node peer.mjs mint N FILE     signs N persons in through the provider's own interaction (authorize → interaction →
//                                 code → token) against a running peer, and writes one refresh token per line
//                                 ("public" and "confidential" clients alternately: FILE.public, FILE.confidential)
// Secrets: PEER_SERVICE_SECRET and PEER_RP_SECRET (required: the benchmark generates them).
import { createServer } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PEER_PORT ?? 18600);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'urn:cafconnect:bench:api';
const redirectUri = 'http://127.0.0.1:5000/callback';
const serviceSecret = process.env.PEER_SERVICE_SECRET;
const rpSecret = process.env.PEER_RP_SECRET;
if (!serviceSecret || !rpSecret) {
  console.error('PEER_SERVICE_SECRET and PEER_RP_SECRET are required');
  process.exit(2);
}

if (process.argv[2] === 'mint') {
  await mint(Number(process.argv[3]), process.argv[4]);
  process.exit(0);
}

// In memory without eviction: the library's quick-start adapter is an LRU of 1,000 entries, which a benchmark fills in
// a second (every rotated refresh token is an entry), evicting the grants and tokens minted for the later runs.
const stores = new Map();
class MemoryAdapter {
  constructor(model) {
    this.model = model;
    if (!stores.has(model)) stores.set(model, new Map());
    this.store = stores.get(model);
  }
  static grants = new Map();
  async upsert(id, payload) {
    this.store.set(id, payload);
    if (payload.grantId) {
      const ids = MemoryAdapter.grants.get(payload.grantId) ?? [];
      ids.push([this.model, id]);
      MemoryAdapter.grants.set(payload.grantId, ids);
    }
  }
  async find(id) { return this.store.get(id); }
  async findByUid(uid) { for (const payload of this.store.values()) if (payload.uid === uid) return payload; return undefined; }
  async findByUserCode(code) { for (const payload of this.store.values()) if (payload.userCode === code) return payload; return undefined; }
  async consume(id) { const payload = this.store.get(id); if (payload) payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { this.store.delete(id); }
  async revokeByGrantId(grantId) {
    for (const [model, id] of MemoryAdapter.grants.get(grantId) ?? []) stores.get(model)?.delete(id);
    MemoryAdapter.grants.delete(grantId);
  }
}

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients: [
    { client_id: 'bench-service', client_secret: serviceSecret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
    { client_id: 'bench-rp', client_secret: rpSecret, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic' },
    { client_id: 'bench-public', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' },
  ],
  jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'api'],
  claims: { openid: ['sub'], profile: ['name'] },
  ttl: { AccessToken: 300, ClientCredentials: 300, IdToken: 300, RefreshToken: 14 * 24 * 3600, AuthorizationCode: 60, Grant: 14 * 24 * 3600, Session: 1800, Interaction: 600 },
  // As CafConnect: a refresh token is good for one use, a new one comes with every refresh.
  rotateRefreshToken: true,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id }; } };
  },
});

// The provider's own interaction, without a page: the person named by login_hint signs in and consents to what was asked.
async function interaction(req, res) {
  const { params, prompt } = await provider.interactionDetails(req, res);
  if (process.env.PEER_DEBUG) console.error(JSON.stringify(prompt));
  const accountId = String(params.login_hint ?? 'person');
  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  grant.addResourceScope(resource, 'api');
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => { res.writeHead(400); res.end(`interaction failed: ${error.message}`); });
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(`peer listening on ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));

async function mint(count, file) {
  const out = { public: [], confidential: [] };
  for (let i = 0; i < count; i++) {
    const confidential = i % 2 === 1;
    const clientId = confidential ? 'bench-rp' : 'bench-public';
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const cookies = new Map();
    const get = async (url) => {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const at = pair.indexOf('=');
        cookies.set(pair.slice(0, at), pair.slice(at + 1));
      }
      await res.arrayBuffer();
      return res;
    };
    const query = new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid offline_access api', prompt: 'consent', 
      code_challenge: challenge, code_challenge_method: 'S256', login_hint: `person-${i}`, state: randomBytes(8).toString('hex'), resource });
    let res = await get(`${issuer}/auth?${query}`);
    for (let hop = 0; hop < 6 && res.status >= 300 && res.status < 400; hop++) {
      const location = new URL(res.headers.get('location'), issuer);
      if (location.href.startsWith(redirectUri)) break;
      res = await get(location.href);
      if (process.env.PEER_DEBUG) console.error(hop, location.href, res.status, res.headers.get("location"));
    }
    const location = new URL(res.headers.get('location') ?? '', issuer);
    const code = location.searchParams.get('code');
    if (!code) throw new Error(`no code for person ${i}: ${res.status} ${location}`);
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier });
    if (confidential) headers.authorization = 'Basic ' + Buffer.from(`${clientId}:${rpSecret}`).toString('base64');
    else form.set('client_id', clientId);
    const token = await (await fetch(`${issuer}/token`, { method: 'POST', headers, body: form })).json();
    if (!token.refresh_token) throw new Error(`no refresh token for person ${i}: ${JSON.stringify(token)}`);
    out[confidential ? 'confidential' : 'public'].push(token.refresh_token);
  }
  writeFileSync(`${file}.public`, out.public.join('\n') + '\n');
  writeFileSync(`${file}.confidential`, out.confidential.join('\n') + '\n');
  console.log(`minted ${count} refresh tokens`);
}
