// A stand-in for FranceConnect, for CafConnect's tests and demo: a certified OpenID Connect provider library
// (node oidc-provider) configured like FranceConnect v2 — per-claim scopes of the identity pivot, acr "eidas1",
// state and nonce required, RP-initiated logout — with a handful of pivot identities and a simple login page.
// It is never a production dependency.
//
// Settings (environment):
//   FC_STANDIN_PORT                     port on 127.0.0.1 (default 5531)
//   FC_STANDIN_CLIENT_ID / _SECRET      the one client (CafConnect), default cafconnect-demo / demo-secret-franceconnect-not-for-production
//   FC_STANDIN_REDIRECT_URIS            comma-separated, default http://127.0.0.1:5000/franceconnect/retour
//   FC_STANDIN_POST_LOGOUT_REDIRECT_URIS comma-separated, default http://127.0.0.1:5000/franceconnect/deconnexion/retour
// Prints "FranceConnect stand-in listening on <issuer>" once it accepts requests.
//
// For tests only, the login form also takes `auth_time_age_seconds`: the authentication is recorded as made that many
// seconds earlier (the ID token's auth_time), as a FranceConnect answering a request with a session it already had.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.FC_STANDIN_PORT ?? 5531);
const issuer = `http://127.0.0.1:${port}`;
const list = (value, fallback) => (value ?? fallback).split(',').map((v) => v.trim()).filter(Boolean);

// Pivot identities. The first ones match the demo households of CafConnect (README), the last one matches nobody.
// FranceConnect gives every given name of the civil status, the birth name, and INSEE codes for the birth place
// (commune; empty for a birth abroad) and country (99100 for France).
export const identities = [
  { sub: 'b6c1f0e2a9d34c7e8f1a2b3c4d5e6f70', label: 'Jeanne Marie DUPONT, née le 14/03/1985 à Paris 12e', given_name: 'Jeanne Marie', family_name: 'DUPONT', preferred_username: '', birthdate: '1985-03-14', gender: 'female', birthplace: '75112', birthcountry: '99100' },
  { sub: 'c7d2e1f3b0a44d8f9a2b3c4d5e6f7a81', label: 'Louise Élise Dubois, née le 21/07/1992 à Lyon 3e', given_name: 'Louise Élise', family_name: 'Dubois', preferred_username: '', birthdate: '1992-07-21', gender: 'female', birthplace: '69383', birthcountry: '99100' },
  { sub: 'd8e3f2a4c1b55e9a0b3c4d5e6f7a8b92', label: 'Paul MARTIN, né le 02/04/1978 à Marseille (première connexion)', given_name: 'Paul', family_name: 'MARTIN', preferred_username: '', birthdate: '1978-04-02', gender: 'male', birthplace: '13055', birthcountry: '99100' },
  { sub: 'e9f4a3b5d2c66f0b1c4d5e6f7a8b9ca3', label: 'Lucie BERNARD, née le 01/02/1995 à Nantes (aucun compte Caf)', given_name: 'Lucie', family_name: 'BERNARD', preferred_username: '', birthdate: '1995-02-01', gender: 'female', birthplace: '44109', birthcountry: '99100' },
  // Born in communes whose names the Caf holds (no NIR): read in INSEE's code of the day of birth (docs/decisions.md #27).
  { sub: 'f0a5b4c6e3d77a1c2d5e6f7a8b9cadb4', label: 'Octave LEROY, né le 01/06/1990 à Octeville (fusionnée dans Cherbourg en 2000)', given_name: 'Octave', family_name: 'LEROY', preferred_username: '', birthdate: '1990-06-01', gender: 'male', birthplace: '50383', birthcountry: '99100' },
  { sub: 'a1b6c5d7f4e88b2d3e6f7a8b9cadbec5', label: 'Denise MOREAU, née le 01/06/1990 à Saint-Denis (93)', given_name: 'Denise', family_name: 'MOREAU', preferred_username: '', birthdate: '1990-06-01', gender: 'female', birthplace: '93066', birthcountry: '99100' },
  // Another FranceConnect identity (another sub) certifying the same civil status: never a second link to the same person.
  { sub: 'b2c7d6e8a5f99c3e4f7a8b9cadbecfd6', label: 'Denise MOREAU (autre identité FranceConnect, même état civil)', given_name: 'Denise', family_name: 'MOREAU', preferred_username: '', birthdate: '1990-06-01', gender: 'female', birthplace: '93066', birthcountry: '99100' },
];

const pivotClaims = ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry', 'preferred_username'];

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const page = (title, body) => `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} – FranceConnect (simulateur)</title></head><body><main><h1>${escape(title)}</h1>
<p><strong>Simulateur FranceConnect</strong> pour les tests et la démonstration de CafConnect : aucune donnée réelle.</p>${body}</main></body></html>`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.FC_STANDIN_CLIENT_ID ?? 'cafconnect-demo',
    client_secret: process.env.FC_STANDIN_CLIENT_SECRET ?? 'demo-secret-franceconnect-not-for-production',
    redirect_uris: list(process.env.FC_STANDIN_REDIRECT_URIS, 'http://127.0.0.1:5000/franceconnect/retour'),
    post_logout_redirect_uris: list(process.env.FC_STANDIN_POST_LOGOUT_REDIRECT_URIS, 'http://127.0.0.1:5000/franceconnect/deconnexion/retour'),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [{ ...signingKey, use: 'sig', kid: randomBytes(8).toString('hex') }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // FranceConnect's scopes are per claim.
  claims: Object.fromEntries([['openid', ['sub']], ...pivotClaims.map((claim) => [claim, [claim]])]),
  acrValues: ['eidas1'],
  routes: {
    authorization: '/api/v2/authorize',
    token: '/api/v2/token',
    userinfo: '/api/v2/userinfo',
    end_session: '/api/v2/session/end',
    jwks: '/api/v2/jwks',
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // FranceConnect logs out without asking; the form is posted by the page itself (or by the test).
      logoutSource: async (ctx, form) => {
        ctx.body = page('Déconnexion de FranceConnect', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter de FranceConnect</button>
<script>document.getElementById('op.logoutForm').requestSubmit(document.querySelector('button[name=logout]'));</script>`);
      },
    },
  },
  pkce: { required: () => false },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const identity = identities.find((i) => i.sub === id);
    if (!identity) return undefined;
    return {
      accountId: id,
      async claims() {
        const { label, ...claims } = identity;
        return claims;
      },
    };
  },
});

// FranceConnect refuses an authorization request without state, nonce or acr_values (its partner documentation).
const missingFranceConnectParameters = (params) => ['state', 'nonce', 'acr_values'].filter((name) => !params[name]);

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) break;
  }
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, params } = details;
  if (req.method === 'GET') {
    const missing = missingFranceConnectParameters(params);
    if (missing.length > 0) {
      return provider.interactionFinished(req, res, { error: 'invalid_request', error_description: `missing ${missing.join(', ')}` }, { mergeWithLastSubmission: false });
    }
    const choices = identities.map((identity, index) => `<div><input type="radio" name="identity" id="identite-${index}" value="${escape(identity.sub)}"${index === 0 ? ' checked' : ''}>
<label for="identite-${index}">${escape(identity.label)}</label></div>`).join('\n');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    return res.end(page('Connexion avec FranceConnect', `<form method="post" action="/interaction/${escape(uid)}">
<fieldset><legend>Choisissez l'identité à transmettre au service (niveau demandé : ${escape(params.acr_values)})</legend>${choices}</fieldset>
<button type="submit" name="action" value="login">Se connecter</button>
<button type="submit" name="action" value="cancel">Annuler et revenir au service</button></form>`));
  }

  const form = await readForm(req);
  if (form.get('action') === 'cancel') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user cancelled the login.' }, { mergeWithLastSubmission: false });
  }
  const identity = identities.find((i) => i.sub === form.get('identity'));
  if (!identity) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    return res.end('unknown identity');
  }
  // A test may say the person authenticated earlier (a session FranceConnect already had): the ID token's auth_time.
  const age = Number(form.get('auth_time_age_seconds') ?? 0);
  const ts = Math.floor(Date.now() / 1000) - (Number.isFinite(age) && age > 0 ? Math.floor(age) : 0);
  // Consent to every requested scope: the person agreed to share the identity pivot (FranceConnect asks them).
  const grant = new provider.Grant({ accountId: identity.sub, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, {
    login: { accountId: identity.sub, acr: 'eidas1', amr: ['pwd'], ts },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`interaction failed: ${error.message}`);
    });
    return;
  }
  callback(req, res);
});
server.listen(port, '127.0.0.1', () => console.log(`FranceConnect stand-in listening on ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
