using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace CafConnect.Infrastructure.Throttling;

public static class ThrottleKeys
{
    public const string UnknownIp = "unknown";

    /// <summary>
    /// The unit an IP budget applies to: an IPv4 address, or the /64 of an IPv6 address (one subscriber usually holds a
    /// whole /64, so counting single IPv6 addresses would give an attacker billions of budgets). IPv4-mapped IPv6 is IPv4.
    /// </summary>
    public static string ForIp(IPAddress? address)
    {
        if (address is null)
        {
            return UnknownIp;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes) + "/64";
        }
        return address.ToString();
    }

    /// <summary>
    /// The budget of an identity claimed where no account exists yet (a NIR or provisional identifier nobody holds, the
    /// civil status of a person being created): the same counters as an account, under a hash of the claim (never a NIR
    /// in clear in Redis or in a flow), in a namespace no person id or file can meet.
    /// </summary>
    public static string ForClaimedIdentity(string claimedIdentity)
    {
        ArgumentException.ThrowIfNullOrEmpty(claimedIdentity);
        return "identity:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("cafconnect.claimed-identity.v1\0" + claimedIdentity)));
    }

    /// <summary>The account a person's attempts count against.</summary>
    public static string ForPerson(Guid personId) => personId.ToString("N");

    /// <summary>
    /// The budget of an authenticated confidential client that relays many callers (the voice server): a source like an
    /// IP, in its own namespace (no IP string starts with <c>client:</c>).
    /// </summary>
    public static string ForClient(string clientId) => "client:" + clientId;

    /// <summary>The file whose shared legacy code the phone channel's attempts count against (never a person's key).</summary>
    public static string ForFile(Guid householdId) => "file:" + householdId.ToString("N");

    /// <summary>
    /// The person whose personal phone code (issue 16, item 8) the phone channel's attempts count against: the same budget
    /// as a file's code, in its own namespace, so that guessing a person's phone code never locks their web login and the
    /// reverse (as the file's lock does not).
    /// </summary>
    public static string ForPhoneCode(Guid personId) => "phone:" + personId.ToString("N");
}
