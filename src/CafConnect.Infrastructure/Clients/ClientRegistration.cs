using FluentValidation;

namespace CafConnect.Infrastructure.Clients;

public enum ClientKind
{
    /// <summary>A server-side web application that keeps a secret.</summary>
    Confidential,
    /// <summary>A native or browser application that cannot keep a secret: PKCE is its only proof.</summary>
    Public,
    /// <summary>
    /// A back-end system of the agency calling the admin API (e.g. the benefits system): client-credentials grant only,
    /// a secret, no redirect URI, no person ever signs in through it.
    /// </summary>
    Service,
}

/// <summary>A relying party as operators describe it (CLI, seed configuration).</summary>
public sealed record ClientRegistration
{
    public required string ClientId { get; init; }
    public required string DisplayName { get; init; }
    public ClientKind Kind { get; init; } = ClientKind.Confidential;
    public string? ClientSecret { get; init; }
    public IReadOnlyList<string> RedirectUris { get; init; } = [];
    public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];

    /// <summary>Scopes beyond <c>openid</c> the client may ask for: profile, email, phone, caf, nir, offline_access.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>
    /// Grants beyond the authorization code and refresh token every client has, for confidential clients only:
    /// <see cref="CafGrantTypes.LegacyCode"/> (the phone server's file number + 8-digit code) and
    /// <see cref="CafGrantTypes.IdentifierPassword"/> (the agency's kiosks).
    /// </summary>
    public IReadOnlyList<string> ExtraGrantTypes { get; init; } = [];

    /// <summary>Where OpenID back-channel logout tokens are posted (incident response), if the client supports it.</summary>
    public string? BackchannelLogoutUri { get; init; }

    /// <summary>
    /// OpenID Connect Dynamic Client Registration's <c>id_token_signed_response_alg</c>: <c>ES256</c> for a relying party
    /// that accepts ES256 ID tokens (and logout tokens); null or <c>RS256</c> for RS256, which every relying party supports
    /// (docs/decisions.md #33).
    /// </summary>
    public string? IdTokenSignedResponseAlg { get; init; }

    /// <summary>Kept on record but refused at every endpoint (<c>POST /admin/v1/clients/{id}/disable</c>).</summary>
    public bool Disabled { get; init; }
}

/// <summary>The grants of CafConnect beyond the standard ones.</summary>
public static class CafGrantTypes
{
    /// <summary>
    /// The phone channel: a file number and the file's shared 8-digit legacy code, exchanged at the token endpoint by
    /// the voice server (docs/decisions.md #13).
    /// </summary>
    public const string LegacyCode = "urn:cafconnect:params:oauth:grant-type:legacy-code";

    /// <summary>
    /// The agency's own kiosks: a person's NIR or provisional identifier and password, exchanged at the token endpoint by
    /// the kiosk (docs/decisions.md #26). Never for a third party: the OAuth 2.0 security BCP (RFC 9700 §2.4) forbids
    /// the password grant.
    /// </summary>
    public const string IdentifierPassword = "urn:cafconnect:params:oauth:grant-type:identifier-password";

    public static readonly IReadOnlySet<string> Registrable = new HashSet<string>(StringComparer.Ordinal) { LegacyCode, IdentifierPassword };
}

public static class CafScopes
{
    public const string Caf = "caf";
    public const string Nir = "nir";

    /// <summary>The admin API (file events, applicant registration, agents' provisional passwords): service clients only.</summary>
    public const string Admin = "cafconnect.admin";

    /// <summary>
    /// The registration of clients over the admin API (<c>/admin/v1/clients</c>): service clients only, and a scope of its
    /// own — whoever may change who signs people in is not, by that, the benefits system, nor the reverse.
    /// </summary>
    public const string Clients = "cafconnect.clients";

    /// <summary>Scopes a service client may be registered for.</summary>
    public static readonly IReadOnlySet<string> ServiceRegistrable = new HashSet<string>(StringComparer.Ordinal) { Admin, Clients };

    /// <summary>Every scope a client may be registered for (openid is implicit).</summary>
    public static readonly IReadOnlySet<string> Registrable = new HashSet<string>(StringComparer.Ordinal)
    {
        "profile", "email", "phone", "offline_access", Caf, Nir,
    };
}

/// <summary>Rules every client registration obeys, whether it comes from the CLI or from seed configuration.</summary>
public sealed class ClientRegistrationValidator : AbstractValidator<ClientRegistration>
{
    public ClientRegistrationValidator()
    {
        RuleFor(c => c.ClientId)
            .NotEmpty().WithMessage("client id is required")
            .Matches("^[a-z0-9][a-z0-9._-]{1,63}$").WithMessage("client id must be 2–64 characters: lower-case letters, digits, '.', '_' or '-'");
        RuleFor(c => c.DisplayName).NotEmpty().MaximumLength(100);
        RuleFor(c => c.ClientSecret)
            .NotEmpty().When(c => c.Kind != ClientKind.Public).WithMessage(c => $"a {c.Kind.ToString().ToLowerInvariant()} client needs a secret")
            .MinimumLength(24).When(c => c.Kind != ClientKind.Public).WithMessage("a client secret must be at least 24 characters");
        RuleFor(c => c.ClientSecret).Empty().When(c => c.Kind == ClientKind.Public).WithMessage("a public client has no secret");
        RuleFor(c => c.RedirectUris).NotEmpty().When(c => c.Kind != ClientKind.Service).WithMessage("at least one redirect URI is required");
        RuleForEach(c => c.RedirectUris).Custom((uri, context) => CheckRedirectUri(uri, context.InstanceToValidate.Kind, context)).When(c => c.Kind != ClientKind.Service);
        RuleForEach(c => c.PostLogoutRedirectUris).Custom((uri, context) => CheckRedirectUri(uri, context.InstanceToValidate.Kind, context)).When(c => c.Kind != ClientKind.Service);
        RuleFor(c => c.BackchannelLogoutUri!).Custom((uri, context) => CheckRedirectUri(uri, ClientKind.Confidential, context)).When(c => c.BackchannelLogoutUri is not null && c.Kind != ClientKind.Service);
        // A person's client never gets the admin scope, and a service client gets nothing else: a token is either a
        // person's or a system's, never both.
        RuleForEach(c => c.Scopes).Must(CafScopes.Registrable.Contains).When(c => c.Kind != ClientKind.Service)
            .WithMessage((_, scope) => CafScopes.ServiceRegistrable.Contains(scope) ? $"scope '{scope}' is for service clients only (--kind service)" : $"unknown scope '{scope}'");
        RuleForEach(c => c.Scopes).Must(CafScopes.ServiceRegistrable.Contains).When(c => c.Kind == ClientKind.Service)
            .WithMessage((_, scope) => $"a service client may only have the scope '{CafScopes.Admin}' or '{CafScopes.Clients}', not '{scope}'");
        RuleFor(c => c.Scopes).NotEmpty().When(c => c.Kind == ClientKind.Service).WithMessage($"a service client needs the scope '{CafScopes.Admin}' (or '{CafScopes.Clients}')");
        RuleFor(c => c.RedirectUris).Empty().When(c => c.Kind == ClientKind.Service).WithMessage("a service client has no redirect URI (it never signs a person in)");
        RuleFor(c => c.PostLogoutRedirectUris).Empty().When(c => c.Kind == ClientKind.Service).WithMessage("a service client has no post-logout redirect URI");
        RuleFor(c => c.BackchannelLogoutUri).Empty().When(c => c.Kind == ClientKind.Service).WithMessage("a service client has no back-channel logout URI");
        RuleFor(c => c.IdTokenSignedResponseAlg).Must(alg => alg is null || Keys.TokenSigning.IdTokenAlgorithms.Contains(alg))
            .WithMessage((_, alg) => $"'{alg}' is not an ID token signing algorithm of this provider: RS256 or ES256");
        RuleFor(c => c.IdTokenSignedResponseAlg).Empty().When(c => c.Kind == ClientKind.Service).WithMessage("a service client gets no ID token");
        RuleForEach(c => c.ExtraGrantTypes).Must(CafGrantTypes.Registrable.Contains).WithMessage((_, grant) => $"unknown grant type '{grant}'");
        // The legacy code and a person's password are typed into the agency's own device, not a browser: only a client that
        // keeps a secret (the voice server, a kiosk) may present them.
        RuleFor(c => c.ExtraGrantTypes).Must(grants => grants.Count == 0).When(c => c.Kind == ClientKind.Public)
            .WithMessage(c => $"only a confidential client may use the {string.Join(" or ", c.ExtraGrantTypes.Select(GrantName))} grant");
        RuleFor(c => c.ExtraGrantTypes).Empty().When(c => c.Kind == ClientKind.Service).WithMessage("a service client uses client credentials only");
    }

    private static string GrantName(string grant) => grant switch
    {
        CafGrantTypes.LegacyCode => "legacy-code",
        CafGrantTypes.IdentifierPassword => "identifier-password",
        _ => grant,
    };

    /// <summary>
    /// Absolute, no wildcard, no fragment; https except on loopback; a public (native) client may use a
    /// private-use scheme containing a dot, as RFC 8252 §7.1 asks (<c>fr.caf.mobile:/callback</c>).
    /// </summary>
    private static void CheckRedirectUri(string value, ClientKind kind, ValidationContext<ClientRegistration> context)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Contains('*'))
        {
            context.AddFailure($"'{value}': wildcards are not allowed");
            return;
        }
        // On Unix, "/callback" parses as an absolute file:// URI: require an explicit scheme.
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.IsFile || value.StartsWith('/'))
        {
            context.AddFailure($"'{value}' is not an absolute URI");
            return;
        }
        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            context.AddFailure($"'{value}': a redirect URI cannot have a fragment");
            return;
        }
        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return;
        }
        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            if (!uri.IsLoopback)
            {
                context.AddFailure($"'{value}': http is only allowed on loopback (127.0.0.1, [::1], localhost); use https");
            }
            return;
        }
        if (kind == ClientKind.Public && uri.Scheme.Contains('.'))
        {
            return;
        }
        context.AddFailure($"'{value}': use https (or, for a native public client, a private-use scheme such as fr.caf.mobile:/callback)");
    }
}
