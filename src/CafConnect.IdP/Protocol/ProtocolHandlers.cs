using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// Where OpenIddict's defaults differ from what OpenID Connect Core and OAuth 2.0 require of us, its own event model
/// closes the gap (docs/decisions.md #18, docs/conformance.md).
/// </summary>
public static partial class ProtocolHandlers
{
    public static OpenIddictServerBuilder AddCafConnectProtocolHandlers(this OpenIddictServerBuilder options)
    {
        // RFC 6749 §3.1: no parameter twice (adversarial review, 6 December 2026, seventh session).
        options.AddEventHandler(SingleValuedParameters.AuthorizationDescriptor);
        options.AddEventHandler(SingleValuedParameters.TokenDescriptor);
        // Parameters whose form a specification fixes (max_age: Core §3.1.2.1; code_challenge: RFC 7636 §4.2).
        options.AddEventHandler(ParameterFormats.Descriptor);
        options.AddEventHandler(AuthorizationErrorsToTheClient.Descriptor);
        options.AddEventHandler(AuthorizationErrorResponseMode.Descriptor);
        options.AddEventHandler(UserInfoPostWithoutBody.Descriptor);
        options.AddEventHandler(UserInfoTokenFromTheHeaderOnly.Descriptor);
        // Redirect URIs judged by the store's row, not the shared one (docs/decisions.md #44).
        options.AddEventHandler(ClientRowsFromStore.Descriptor);
        // A client revokes only what was issued to it (RFC 7009 §2.1; adversarial review, 5 December 2026, fifth session).
        options.AddEventHandler(RevocationByTheTokensClient.Descriptor);
        // offline_access only for a client registered for it (adversarial review, 6 December 2026, seventh session).
        options.AddEventHandler(OfflineAccessByRegistration.AuthorizationDescriptor);
        options.AddEventHandler(OfflineAccessByRegistration.RefreshDescriptor);
        // A wrong code_verifier spends the code (adversarial review, 6 December 2026, seventh session); replaces
        // OpenIddict's check, which it runs.
        options.AddEventHandler(CodeSpentByAWrongVerifier.Descriptor);
        options.RemoveEventHandler(OpenIddictServerHandlers.Exchange.ValidateCodeVerifier.Descriptor);
        // Replaced by UserInfoPostWithoutBody, which hands every other request back to it.
        options.RemoveEventHandler(OpenIddictServerAspNetCoreHandlers.ExtractGetOrPostRequest<ExtractUserInfoRequestContext>.Descriptor);
        return options;
    }

    /// <summary>
    /// RFC 7009 §2.1: the server "verifies whether the token was issued to the client making the revocation request".
    /// OpenIddict checks an access token's caller only when the token names an audience, and CafConnect's access tokens
    /// (client credentials, and the relying parties' for userinfo) name none: any client holding another's access token
    /// could revoke it (adversarial review, 5 December 2026, fifth session). Here an access or refresh token is revoked
    /// only by a client it was presented to (OpenIddict records the client a token was issued to as its presenter) or
    /// named as its audience; otherwise the request is refused as OpenIddict refuses a code of another client (ID2080),
    /// and nothing changes.
    /// </summary>
    public sealed class RevocationByTheTokensClient : IOpenIddictServerHandler<ValidateRevocationRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateRevocationRequestContext>()
            .UseSingletonHandler<RevocationByTheTokensClient>()
            .SetOrder(OpenIddictServerHandlers.Revocation.ValidateAuthorizedParty.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateRevocationRequestContext context)
        {
            if (context.GenericTokenPrincipal is not { } token || !(token.HasTokenType(TokenTypeIdentifiers.AccessToken) || token.HasTokenType(TokenTypeIdentifiers.RefreshToken)))
            {
                return default;
            }
            var caller = context.ClientId;
            if (string.IsNullOrEmpty(caller) || !(token.HasPresenter(caller) || token.HasAudience(caller)))
            {
                context.Reject(Errors.InvalidToken, OpenIddictResources.GetResourceString(OpenIddictResources.ID2080),
                    OpenIddictResources.FormatID8000(OpenIddictResources.ID2080));
            }
            return default;
        }
    }

    /// <summary>
    /// A refresh token only for a client registered for <c>offline_access</c> (<c>cafconnect clients … --scope</c>, the admin
    /// API's <c>scopes</c>, stored as the permission <c>scp:offline_access</c>). OpenIddict never checks that permission: it
    /// treats <c>offline_access</c> as a protocol scope governed by the refresh-token grant, which every relying party of
    /// CafConnect holds, so any client asking for it got a 14-day refresh token — ARIPA, the kiosks' browser journey
    /// (decision 53), whichever the registration left out (adversarial review, 6 December 2026, seventh session). Here
    /// the registration is the rule at both ends: the authorization request asking for it is refused as OpenIddict
    /// refuses any other scope the client is not registered for (ID2051), and a refresh by a client no longer registered
    /// for it is refused as a grant the client may not use (ID2064), so removing the scope ends the refreshes at once.
    /// </summary>
    public sealed class OfflineAccessByRegistration(IOpenIddictApplicationManager applications)
        : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>, IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor AuthorizationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
            .UseScopedHandler<OfflineAccessByRegistration>()
            .SetOrder(OpenIddictServerHandlers.Authentication.ValidateScopePermissions.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public static OpenIddictServerHandlerDescriptor RefreshDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseScopedHandler<OfflineAccessByRegistration>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateGrantTypePermissions.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
        {
            if (context.Request.HasScope(Scopes.OfflineAccess) && !await IsRegisteredForItAsync(context.ClientId, context.CancellationToken))
            {
                context.Reject(Errors.InvalidRequest, OpenIddictResources.GetResourceString(OpenIddictResources.ID2051),
                    OpenIddictResources.FormatID8000(OpenIddictResources.ID2051));
            }
        }

        public async ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            if (context.Request.IsRefreshTokenGrantType() && !await IsRegisteredForItAsync(context.ClientId, context.CancellationToken))
            {
                context.Reject(Errors.UnauthorizedClient, OpenIddictResources.GetResourceString(OpenIddictResources.ID2064),
                    OpenIddictResources.FormatID8000(OpenIddictResources.ID2064));
            }
        }

        private async ValueTask<bool> IsRegisteredForItAsync(string? clientId, CancellationToken cancellationToken) =>
            !string.IsNullOrEmpty(clientId)
            && await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application
            && await applications.HasPermissionAsync(application, Permissions.Prefixes.Scope + Scopes.OfflineAccess, cancellationToken);
    }

    /// <summary>
    /// Core §3.1.2.6, RFC 6749 §4.1.2.1: once the client and the redirect URI are known to be valid, every error of the
    /// authorization request goes back to that URI (with <c>state</c> and <c>iss</c>), so the relying party learns of
    /// it — <c>request_not_supported</c>, <c>request_uri_not_supported</c>, a missing or <c>plain</c> PKCE challenge,
    /// an unknown scope… OpenIddict shows every error found while validating the request on its own page instead; only
    /// an unknown client, or a redirect URI not registered for it byte for byte, must stay there (RFC 6749 §4.1.2.1:
    /// never redirect to an unverified URI).
    /// </summary>
    public sealed class AuthorizationErrorsToTheClient(IOpenIddictApplicationManager applications) : IOpenIddictServerHandler<ApplyAuthorizationResponseContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>()
            .UseScopedHandler<AuthorizationErrorsToTheClient>()
            // After OpenIddict attached the validated redirect URI (none when validation failed), before the response
            // mode, state and iss are derived from it.
            .SetOrder(OpenIddictServerHandlers.Authentication.AttachRedirectUri.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
        {
            if (context.Request is null || !string.IsNullOrEmpty(context.RedirectUri) || string.IsNullOrEmpty(context.Response.Error))
            {
                return;
            }
            // A parameter sent twice is not one value: OpenIddict gives null, and nothing is redirected.
            var clientId = (string?)context.Request[Parameters.ClientId];
            var redirectUri = (string?)context.Request[Parameters.RedirectUri];
            if (string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(redirectUri))
            {
                return;
            }
            var application = await applications.FindByClientIdAsync(clientId, context.CancellationToken);
            if (application is null
                || !await applications.HasPermissionAsync(application, Permissions.Endpoints.Authorization, context.CancellationToken)
                || !await applications.ValidateRedirectUriAsync(application, redirectUri, context.CancellationToken))
            {
                return;
            }
            context.RedirectUri = redirectUri;
        }
    }

    /// <summary>
    /// An error about the response mode itself leaves none to answer with: the query string, the default of the code
    /// flow (Core §3.1.2.5), is used.
    /// </summary>
    public sealed class AuthorizationErrorResponseMode : IOpenIddictServerHandler<ApplyAuthorizationResponseContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>()
            .UseSingletonHandler<AuthorizationErrorResponseMode>()
            .SetOrder(OpenIddictServerHandlers.Authentication.InferResponseMode.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
        {
            if (!string.IsNullOrEmpty(context.RedirectUri) && !string.IsNullOrEmpty(context.Response.Error)
                && context.ResponseMode is not (ResponseModes.Query or ResponseModes.Fragment or ResponseModes.FormPost))
            {
                context.ResponseMode = ResponseModes.Query;
            }
            return default;
        }
    }

    /// <summary>
    /// Userinfo reads the access token from the <c>Authorization</c> header only (RFC 6750 §2.1; adversarial review,
    /// 6 December 2026, seventh session). OpenIddict also took it from the query string — which RFC 6750 §2.3 says
    /// SHOULD NOT be used, and which proxies' access logs and browser histories keep — and from a form body (§2.2,
    /// optional to servers, used by no relying party of the Caf: docs/claims.md tells them the header); the server has no
    /// switch for either. Once the request is read, an <c>access_token</c> parameter is dropped, so such a request is
    /// answered as one without a token (OpenIddict's own answer); the header is read after this, as before.
    /// </summary>
    public sealed class UserInfoTokenFromTheHeaderOnly : IOpenIddictServerHandler<ExtractUserInfoRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ExtractUserInfoRequestContext>()
            .UseSingletonHandler<UserInfoTokenFromTheHeaderOnly>()
            // After the request is read (UserInfoPostWithoutBody), before OpenIddict reads the Authorization header.
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ExtractAccessToken<ExtractUserInfoRequestContext>.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ExtractUserInfoRequestContext context)
        {
            context.Request?.RemoveParameter(Parameters.AccessToken);
            return default;
        }
    }

    /// <summary>
    /// A userinfo <c>POST</c> carrying its bearer token in the <c>Authorization</c> header and no body is a valid request
    /// (Core §5.3.1 allows POST; RFC 6750 §2.1 puts the token in the header whatever the method; RFC 9110 §8.3 asks for a
    /// <c>Content-Type</c> only when there is content). OpenIddict refuses any POST without a <c>Content-Type</c>: such a
    /// request is read here as an empty form, and every other one goes to OpenIddict's own extraction.
    /// </summary>
    public sealed class UserInfoPostWithoutBody : IOpenIddictServerHandler<ExtractUserInfoRequestContext>
    {
        private static readonly OpenIddictServerAspNetCoreHandlers.ExtractGetOrPostRequest<ExtractUserInfoRequestContext> OpenIddictExtraction = new();

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ExtractUserInfoRequestContext>()
            .AddFilter<OpenIddictServerAspNetCoreHandlerFilters.RequireHttpRequest>()
            .UseSingletonHandler<UserInfoPostWithoutBody>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ExtractGetOrPostRequest<ExtractUserInfoRequestContext>.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ExtractUserInfoRequestContext context)
        {
            var request = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("The ASP.NET Core request is not available.");
            if (HttpMethods.IsPost(request.Method) && string.IsNullOrEmpty(request.ContentType) && HasNoBody(request))
            {
                context.Transaction.Request = new OpenIddictRequest();
                return default;
            }
            return OpenIddictExtraction.HandleAsync(context);
        }

        private static bool HasNoBody(HttpRequest request) =>
            request.ContentLength == 0
            || (request.ContentLength is null && !request.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.TransferEncoding)
                && request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: true });
    }
}
