using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CafConnect.IdP.Protocol;

public static partial class ProtocolHandlers
{
    /// <summary>
    /// Parameters of the authorization request whose form a specification fixes, which OpenIddict does not check
    /// (adversarial review, 6 December 2026, seventh session). A malformed one is <c>invalid_request</c>, sent to the
    /// client once its <c>client_id</c> and <c>redirect_uri</c> are verified (<see cref="AuthorizationErrorsToTheClient"/>):
    /// <list type="bullet">
    /// <item><c>max_age</c>: "the allowable elapsed time in seconds" (Core §3.1.2.1), a non-negative integer — digits only.
    /// <c>abc</c>, <c>1.5</c> were read as no <c>max_age</c> and answered from the session; <c>-1</c> asked a login.</item>
    /// <item><c>code_challenge</c>: 43 to 128 characters of the unreserved set <c>[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"</c>
    /// (RFC 7636 §4.2; an S256 challenge is 43). A shorter one was accepted and could never be met — a code no verifier
    /// redeems, the relying party's own mistake found only at the token endpoint.</item>
    /// </list>
    /// An empty parameter is no parameter, as OpenIddict reads every other one.
    /// </summary>
    public sealed class ParameterFormats : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
    {
        // After SingleValuedParameters (a repeated parameter is not one value to check), before OpenIddict's first check.
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
            .UseSingletonHandler<ParameterFormats>()
            .SetOrder(SingleValuedParameters.AuthorizationDescriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
        {
            var maxAge = (string?)context.Request[Parameters.MaxAge];
            if (!string.IsNullOrEmpty(maxAge) && !maxAge.All(char.IsAsciiDigit))
            {
                context.Reject(Errors.InvalidRequest, "The 'max_age' parameter must be a non-negative integer number of seconds.");
                return default;
            }
            var challenge = (string?)context.Request[Parameters.CodeChallenge];
            if (!string.IsNullOrEmpty(challenge) && !IsRfc7636Challenge(challenge))
            {
                context.Reject(Errors.InvalidRequest, "The 'code_challenge' parameter must be 43 to 128 characters among A-Z, a-z, 0-9, '-', '.', '_' and '~'.");
            }
            return default;
        }

        private static bool IsRfc7636Challenge(string challenge) =>
            challenge.Length is >= 43 and <= 128 && challenge.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');
    }
}
