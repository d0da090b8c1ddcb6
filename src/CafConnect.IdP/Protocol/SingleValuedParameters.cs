using CafConnect.IdP.Features.Kiosk;
using CafConnect.IdP.Features.PhoneChannel;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CafConnect.IdP.Protocol;

public static partial class ProtocolHandlers
{
    /// <summary>
    /// RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once." OpenIddict reads a repeated
    /// parameter as absent: a repeated <c>scope</c> gave a code with no scope, a repeated <c>state</c> a code without
    /// <c>state</c>, a repeated <c>prompt</c> or <c>max_age</c> a code from the session, a repeated <c>scope</c> in a
    /// refresh a grant that ignored it (adversarial review, 6 December 2026, seventh session). Here, before any other
    /// check, a parameter this server reads at the authorization or the token endpoint, given more than once, is
    /// <c>invalid_request</c>. At the authorization endpoint the error goes to the redirect URI only when
    /// <c>client_id</c> and <c>redirect_uri</c> are single and registered (<see cref="AuthorizationErrorsToTheClient"/>),
    /// otherwise it is our page. Parameters the server does not read are ignored, repeated or not (RFC 6749 §3.1), and
    /// so are those defined as repeatable (<c>resource</c>, <c>audience</c>: RFC 8707).
    /// </summary>
    public sealed class SingleValuedParameters : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>, IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        /// <summary>What the authorization endpoint reads: OAuth 2.0, PKCE, OpenID Connect Core §3.1.2.1 and §6, and our login marker.</summary>
        public static IReadOnlyList<string> AuthorizationParameters { get; } =
        [
            Parameters.ClientId, Parameters.RedirectUri, Parameters.ResponseType, Parameters.ResponseMode, Parameters.Scope,
            Parameters.State, Parameters.Nonce, Parameters.CodeChallenge, Parameters.CodeChallengeMethod, Parameters.Prompt,
            Parameters.MaxAge, Parameters.LoginHint, Parameters.IdTokenHint, Parameters.AcrValues, Parameters.Display,
            Parameters.UiLocales, Parameters.ClaimsLocales, Parameters.Claims, Parameters.Request, Parameters.RequestUri,
            Parameters.Registration, ProtocolEndpoints.ReauthenticationParameter,
        ];

        /// <summary>What the token endpoint reads: the grants' parameters (ours included) and client authentication's.</summary>
        public static IReadOnlyList<string> TokenParameters { get; } =
        [
            Parameters.GrantType, Parameters.Code, Parameters.CodeVerifier, Parameters.RedirectUri, Parameters.RefreshToken,
            Parameters.Scope, Parameters.ClientId, Parameters.ClientSecret, Parameters.ClientAssertion, Parameters.ClientAssertionType,
            Parameters.Username, Parameters.Password, Parameters.DeviceCode,
            LegacyCodeGrant.FileNumberParameter, LegacyCodeGrant.CodeParameter, LegacyCodeGrant.NirParameter, LegacyCodeGrant.PersonalCodeParameter,
            IdentifierPasswordGrant.IdentifierParameter, IdentifierPasswordGrant.PasswordParameter,
        ];

        // Before OpenIddict's first check of the request: nothing is read from a parameter that is not one value.
        public static OpenIddictServerHandlerDescriptor AuthorizationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
            .UseSingletonHandler<SingleValuedParameters>()
            .SetOrder(int.MinValue + 50_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public static OpenIddictServerHandlerDescriptor TokenDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseSingletonHandler<SingleValuedParameters>()
            .SetOrder(int.MinValue + 50_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
        {
            RejectRepeated(context, context.Request, AuthorizationParameters);
            return default;
        }

        public ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            RejectRepeated(context, context.Request, TokenParameters);
            return default;
        }

        private static void RejectRepeated(BaseValidatingContext context, OpenIddictRequest request, IReadOnlyList<string> names)
        {
            foreach (var name in names)
            {
                if (request.GetParameter(name) is { } parameter && ((Microsoft.Extensions.Primitives.StringValues)parameter).Count > 1)
                {
                    context.Reject(Errors.InvalidRequest, $"The '{name}' parameter must not be included more than once.");
                    return;
                }
            }
        }
    }
}
