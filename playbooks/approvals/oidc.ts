/**
 * Approver sign-in at the hospital's identity provider: OpenID Connect authorization code flow with
 * PKCE (S256), state and nonce, as a relying party built on `openid-client`. The person's identity
 * comes from the configured claim and their medsoc roles from the configured group/role claim
 * mapping; a claim that is missing is a refused sign-in, never a guess.
 */
import * as client from "openid-client";
import { PermanentError } from "../../core/errors.ts";
import type { OidcStateClaims } from "./tokens.ts";

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: { reveal(): string };
  scopes: string[];
  identityClaim: string;
  rolesClaim: string;
  roleMapping: Record<string, string[]>;
  allowInsecureHttp: boolean;
}

/** A person the identity provider vouched for. */
export interface OidcIdentity {
  identity: string;
  name?: string;
  roles: string[];
  /** The group/role claim values as sent (for the audit trail). */
  groups: string[];
  iss: string;
  sub: string;
}

export class OidcSignIn {
  #config?: Promise<client.Configuration>;

  constructor(
    readonly settings: OidcSettings,
    /** `<publicUrl>/approvals/oidc/callback`, registered at the identity provider. */
    readonly redirectUri: string,
  ) {}

  /** Discovery happens at the first sign-in (and again after a failure), not at start-up. */
  #discover(): Promise<client.Configuration> {
    if (!this.#config) {
      const s = this.settings;
      const auth = s.clientSecret ? client.ClientSecretBasic(s.clientSecret.reveal()) : client.None();
      this.#config = client
        .discovery(new URL(s.issuer), s.clientId, undefined, auth, {
          execute: s.allowInsecureHttp ? [client.allowInsecureRequests] : [],
          timeout: 15,
        })
        .catch((error: unknown) => {
          this.#config = undefined;
          throw new PermanentError(
            `discovering the identity provider at ${s.issuer}: ${(error as Error).message}`,
            { cause: error },
          );
        });
    }
    return this.#config;
  }

  /** The authorization URL to send the browser to, and what the callback must find again. */
  async start(returnTo: string, ttlMs: number): Promise<{ url: URL; state: OidcStateClaims }> {
    const config = await this.#discover();
    const verifier = client.randomPKCECodeVerifier();
    const state: OidcStateClaims = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier,
      returnTo,
      exp: Date.now() + ttlMs,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes.join(" "),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state: state.state,
      nonce: state.nonce,
    });
    return { url, state };
  }

  /** Exchanges the code (PKCE verifier, state and nonce checked) and maps the person's claims. */
  async finish(callbackQuery: string, st: OidcStateClaims): Promise<OidcIdentity> {
    const config = await this.#discover();
    const current = new URL(this.redirectUri);
    current.search = callbackQuery;
    const tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: st.verifier,
      expectedState: st.state,
      expectedNonce: st.nonce,
      idTokenExpected: true,
    });
    const id = tokens.claims();
    if (!id) throw new PermanentError("the identity provider returned no ID token");
    let claims: Record<string, unknown> = { ...id };
    if (config.serverMetadata().userinfo_endpoint) {
      const info = await client.fetchUserInfo(config, tokens.access_token, id.sub);
      // The ID token wins where both carry a claim.
      claims = { ...info, ...id };
    }
    return mapClaims(this.settings, claims, config.serverMetadata().issuer);
  }
}

/** Identity and roles from the claims; exported for unit tests. */
export function mapClaims(s: OidcSettings, claims: Record<string, unknown>, issuer: string): OidcIdentity {
  const identity = claims[s.identityClaim];
  if (typeof identity !== "string" || !identity)
    throw new PermanentError(
      `the identity provider sent no "${s.identityClaim}" claim (approvals.oidc.identityClaim); sign-in refused`,
    );
  const raw = claims[s.rolesClaim];
  const groups = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
    (g): g is string => typeof g === "string",
  );
  const roles = [...new Set(groups.flatMap((g) => s.roleMapping[g] ?? []))].sort();
  const name = typeof claims.name === "string" && claims.name ? claims.name : undefined;
  return { identity, name, roles, groups, iss: issuer, sub: String(claims.sub) };
}
