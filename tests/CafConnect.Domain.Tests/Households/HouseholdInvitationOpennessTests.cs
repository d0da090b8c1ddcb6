using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Households;

/// <summary>
/// <see cref="HouseholdInvitation.IsOpenAt"/>: an invitation speaks for the holder who sent it, only while they hold the
/// file (adversarial review, 5 December 2026, fourth session).
/// </summary>
public sealed class HouseholdInvitationOpennessTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private static (HouseholdInvitation Invitation, HouseholdMembership Sender) Sent(HouseholdRole senderRole = HouseholdRole.Allocataire, bool senderLoaded = true)
    {
        var sender = new PersonAccount { BirthName = "DUPONT", GivenNames = "Jeanne" };
        var file = new Household { FileNumber = "0260311" };
        var membership = new HouseholdMembership { HouseholdId = file.Id, PersonId = sender.Id, Person = senderLoaded ? sender : null, Role = senderRole };
        file.Members.Add(membership);
        var invitation = new HouseholdInvitation
        {
            HouseholdId = file.Id, Household = file, InvitedByPersonId = sender.Id, Role = HouseholdRole.Autre,
            CreatedAt = Now.AddDays(-1), ExpiresAt = Now.AddDays(29),
        };
        return (invitation, membership);
    }

    [Test]
    public void An_invitation_of_the_files_holder_is_open_until_answered_or_expired()
    {
        var (invitation, _) = Sent();
        Assert.That(invitation.IsOpenAt(Now), Is.True);
        Assert.That(invitation.IsOpenAt(invitation.ExpiresAt), Is.False, "expired");
        invitation.AcceptedAt = Now;
        Assert.That(invitation.IsOpenAt(Now), Is.False, "answered");
    }

    [Test]
    public void An_invitation_whose_sender_left_the_file_is_closed()
    {
        var (invitation, sender) = Sent();
        invitation.Household!.Members.Remove(sender);
        Assert.That(invitation.IsOpenAt(Now), Is.False);
    }

    [TestCase(HouseholdRole.Conjoint)]
    [TestCase(HouseholdRole.ConjointAllocataire)]
    [TestCase(HouseholdRole.Enfant)]
    public void An_invitation_whose_sender_no_longer_holds_the_file_is_closed(HouseholdRole nowRole)
    {
        var (invitation, sender) = Sent();
        sender.Role = nowRole;
        Assert.That(invitation.IsOpenAt(Now), Is.False);
    }

    [Test]
    public void An_invitation_whose_sender_account_is_closed_is_closed()
    {
        var (invitation, sender) = Sent();
        sender.Person!.ClosedAt = Now.AddHours(-1);
        Assert.That(invitation.IsOpenAt(Now), Is.False);
    }

    [Test]
    public void An_invitation_read_without_its_file_or_its_senders_account_never_reads_as_open()
    {
        var (withoutAccount, _) = Sent(senderLoaded: false);
        Assert.That(withoutAccount.IsOpenAt(Now), Is.False, "members' accounts not loaded");
        var (withoutFile, _) = Sent();
        withoutFile.Household = null;
        Assert.That(withoutFile.IsOpenAt(Now), Is.False, "file not loaded");
    }
}
