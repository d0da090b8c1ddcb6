// An independent relying party signing in against CafConnect with openid-client 6 (an OpenID-certified RP library),
// once as a confidential client and once as a public client (PKCE, no secret).
//
// Environment:
//   ISSUER                         the provider, e.g. http://127.0.0.1:43210/
//   CLIENT_ID, CLIENT_SECRET       the confidential client
//   REDIRECT_URI                   its registered redirect URI
//   POST_LOGOUT_REDIRECT_URI       its registered post-logout redirect URI
//   PUBLIC_CLIENT_ID               the public client (optional: skipped when empty)
//   PUBLIC_REDIRECT_URI, PUBLIC_POST_LOGOUT_REDIRECT_URI
//   LOGIN_IDENTIFIER, LOGIN_PASSWORD   a person's NIR and password
//   SCOPE                          optional, default "openid profile email caf offline_access"
//
// The script plays the browser itself with fetch (no redirect followed automatically): it never connects to the
// redirect URIs, it only reads the Location that points there, as a native app reads its custom-scheme redirect.
// Prints each step; exits 0 only when every check passed.
import * as client from 'openid-client';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`missing environment variable ${name}`);
  return value;
};

let step = 0;
const log = (message) => console.log(`[${String(++step).padStart(2, '0')}] ${message}`);
const check = (condition, message) => {
  if (!condition) throw new Error(`check failed: ${message}`);
};

/** A minimal cookie jar for one origin: what a browser would keep between the provider's pages. */
class Browser {
  #cookies = new Map();

  async get(url) {
    return this.#send(url, { method: 'GET' });
  }

  async postForm(url, fields) {
    return this.#send(url, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }

  async #send(url, init) {
    const headers = { ...(init.headers ?? {}), accept: 'text/html,application/xhtml+xml', 'accept-language': 'fr-FR' };
    if (this.#cookies.size > 0) headers.cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair, ...attributes] = setCookie.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a));
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return response;
  }
}

/** A redirect's target, resolved against the URL that answered. */
const locationOf = (response, from) => {
  check([301, 302, 303, 307, 308].includes(response.status), `expected a redirect from ${from}, got HTTP ${response.status}`);
  return new URL(response.headers.get('location'), from);
};

const decode = (html) => html.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');

/** The front channel: authorize → login page → credentials → back to authorize → redirect to the client (not followed). */
async function frontChannel(browser, authorizationUrl, redirectUri, identifier, password) {
  const challenge = await browser.get(authorizationUrl);
  const loginPage = locationOf(challenge, authorizationUrl);
  check(loginPage.pathname === '/connexion', `authorize without a session sends to /connexion (got ${loginPage})`);
  log(`GET authorize → 302 ${loginPage.pathname}`);

  const page = await browser.get(loginPage);
  check(page.status === 200, `login page answers 200 (got ${page.status})`);
  const html = await page.text();
  const action = /<form method="post"[^>]*action="([^"]+)"/.exec(html);
  const token = /name="__RequestVerificationToken" type="hidden" value="([^"]+)"/.exec(html);
  check(action && token, 'the login page has a form and an anti-forgery token');
  const formAction = new URL(decode(action[1]), loginPage);
  log(`GET /connexion → 200, form action ${formAction.pathname}${formAction.search.slice(0, 40)}…, anti-forgery token found`);

  const posted = await browser.postForm(formAction, { 'Input.Identifier': identifier, 'Input.Password': password, __RequestVerificationToken: token[1] });
  const back = locationOf(posted, formAction);
  check(back.pathname === '/connect/authorize', `a good login returns to authorize (got ${back})`);
  log(`POST credentials → 302 ${back.pathname}`);

  const final = await browser.get(back);
  const callback = locationOf(final, back);
  check(callback.href.startsWith(redirectUri), `authorize redirects to the registered redirect URI (got ${callback})`);
  log(`GET authorize → 302 to the client: ${callback.origin === 'null' ? callback.protocol : callback.origin}${callback.pathname} with ${[...callback.searchParams.keys()].join(', ')}`);
  return callback;
}

async function relyingParty({ label, issuer, clientId, clientSecret, redirectUri, postLogoutRedirectUri, identifier, password, scope }) {
  console.log(`\n=== ${label}: ${clientId} (${clientSecret ? 'confidential, client_secret_basic' : 'public, no secret'}) ===`);
  // allowInsecureRequests: the test host serves plain http on the loopback interface (a real socket on 127.0.0.1, in the
  // test process). openid-client refuses http by default, rightly; production CafConnect is https only (Oidc:RequireHttps).
  const config = await client.discovery(new URL(issuer), clientId, clientSecret ? undefined : { token_endpoint_auth_method: 'none' },
    clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(), { execute: [client.allowInsecureRequests] });
  const metadata = config.serverMetadata();
  check(metadata.issuer === issuer, `issuer ${metadata.issuer} is ${issuer}`);
  check(metadata.code_challenge_methods_supported?.includes('S256'), 'S256 advertised');
  check(metadata.authorization_response_iss_parameter_supported === true, 'RFC 9207 iss advertised');
  log(`discovery: issuer ${metadata.issuer}, end_session_endpoint ${metadata.end_session_endpoint}`);

  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  log(`authorization URL built with PKCE S256, state and nonce`);

  const browser = new Browser();
  const callback = await frontChannel(browser, authorizationUrl, redirectUri, identifier, password);
  check(callback.searchParams.get('iss') === issuer, 'iss in the authorization response');

  // Checks state, iss (RFC 9207), then redeems with the verifier and validates the ID token (signature via JWKS, aud, nonce…).
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  const claims = tokens.claims();
  check(claims?.sub, 'ID token has a subject');
  check(claims.aud === clientId || (Array.isArray(claims.aud) && claims.aud.includes(clientId)), 'ID token audience is the client');
  check(tokens.refresh_token, 'a refresh token (offline_access)');
  log(`authorizationCodeGrant: tokens received, ID token valid (sub ${claims.sub.slice(0, 8)}…, nonce and state checked)`);

  const userInfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  check(userInfo.sub === claims.sub, 'userinfo sub matches the ID token');
  log(`fetchUserInfo: sub matches, given_name ${userInfo.given_name}`);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  check(refreshed.access_token && refreshed.access_token !== tokens.access_token, 'a new access token');
  check(!refreshed.id_token || refreshed.claims().sub === claims.sub, 'a refreshed ID token names the same person');
  const refreshedUserInfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
  check(refreshedUserInfo.sub === claims.sub, 'userinfo with the refreshed access token');
  log(`refreshTokenGrant: new access token${refreshed.refresh_token ? ' and refresh token' : ''}, userinfo still answers`);

  const endSessionUrl = client.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token ?? tokens.id_token,
    post_logout_redirect_uri: postLogoutRedirectUri,
    state: 'fin-de-session',
  });
  const logout = await browser.get(endSessionUrl);
  const afterLogout = locationOf(logout, endSessionUrl);
  check(afterLogout.href.startsWith(postLogoutRedirectUri), `end session redirects to the registered post-logout URI (got ${afterLogout})`);
  check(afterLogout.searchParams.get('state') === 'fin-de-session', 'end session returns the state');
  log(`buildEndSessionUrl + GET → 302 to ${postLogoutRedirectUri}`);

  // The provider's session is gone: a silent authorization request now answers login_required.
  const silent = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid', prompt: 'none', state: 'silencieux',
    code_challenge: codeChallenge, code_challenge_method: 'S256',
  });
  const silentAnswer = locationOf(await browser.get(silent), silent);
  check(silentAnswer.searchParams.get('error') === 'login_required', `prompt=none after logout gives login_required (got ${silentAnswer.search})`);
  log('prompt=none after logout → login_required: the session is closed');

  // The used refresh token is one-use only: replaying it must fail. Checked after the logout: a replay revokes the
  // whole authorization (reuse detection), and the provider rightly no longer honours an ID token hint of it.
  let replayRejected = false;
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token);
  } catch (error) {
    replayRejected = error?.error === 'invalid_grant';
  }
  check(replayRejected, 'a redeemed refresh token cannot be replayed');
  log('refresh token replay rejected (invalid_grant)');
}

const issuer = env('ISSUER');
const common = {
  issuer,
  identifier: env('LOGIN_IDENTIFIER'),
  password: env('LOGIN_PASSWORD'),
  scope: process.env.SCOPE || 'openid profile email caf offline_access',
};

try {
  await relyingParty({
    ...common,
    label: 'confidential client',
    clientId: env('CLIENT_ID'),
    clientSecret: env('CLIENT_SECRET'),
    redirectUri: env('REDIRECT_URI'),
    postLogoutRedirectUri: env('POST_LOGOUT_REDIRECT_URI'),
  });
  if (process.env.PUBLIC_CLIENT_ID) {
    await relyingParty({
      ...common,
      label: 'public client',
      clientId: env('PUBLIC_CLIENT_ID'),
      clientSecret: undefined,
      redirectUri: env('PUBLIC_REDIRECT_URI'),
      postLogoutRedirectUri: env('PUBLIC_POST_LOGOUT_REDIRECT_URI'),
    });
  }
  console.log('\nINTEROP OK: every check passed');
  process.exit(0);
} catch (error) {
  console.error(`\nINTEROP FAILED at step ${step + 1}: ${error?.message ?? error}`);
  if (error?.code) console.error(`  code: ${error.code}`);
  if (error?.error) console.error(`  error: ${error.error} ${error.error_description ?? ''}`);
  if (error?.cause) console.error('  cause:', error.cause);
  process.exit(1);
}
