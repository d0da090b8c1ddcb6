using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.Application.Tests.Identity;

/// <summary>The one rule of who may receive a code for whom (docs/decisions.md #16), without a store.</summary>
public sealed class ContactProofTests
{
    private static PersonAccount Person(string? mobile = null, bool mobileVerified = false, string? email = null, bool emailVerified = false) =>
        new() { MobilePhone = mobile, MobilePhoneVerified = mobileVerified, Email = email, EmailVerified = emailVerified };

    [Test]
    public void A_person_the_records_hold_no_contact_for_is_offered_no_contact_and_is_activated_by_letter()
    {
        Assert.That(ContactProof.ActivationContacts(Person()), Is.Empty);
        Assert.That(ContactProof.Destination(Person()), Is.Null, "no contact: by letter");
    }

    [Test]
    public void Only_the_records_contacts_are_offered_for_the_activation_code_the_mobile_first()
    {
        var person = Person(mobile: "06 15 00 00 07", email: "lea@example.fr");
        Assert.That(ContactProof.ActivationContacts(person).Select(c => (c.Channel, c.Value)),
            Is.EqualTo(new[] { (ContactChannel.Sms, "+33615000007"), (ContactChannel.Email, "lea@example.fr") }));
        Assert.That(ContactProof.ActivationContact(Person(mobile: "+33615000007"), ContactChannel.Email), Is.Null, "a channel the records do not hold is not offered");
    }

    [Test]
    public void Verified_contacts_come_first_then_the_records_the_mobile_before_the_e_mail()
    {
        var person = Person(mobile: "+33615000007", email: "lea@example.fr", emailVerified: true);
        var own = ContactProof.OwnContacts(person);
        Assert.That(own.Select(c => (c.Channel, c.Origin)), Is.EqualTo(new[] { (ContactChannel.Email, ContactOrigin.Verified), (ContactChannel.Sms, ContactOrigin.Records) }));
        Assert.That(ContactProof.Destination(person, ContactChannel.Sms)!.Value, Is.EqualTo("+33615000007"), "the channel asked for when the person has it");
        Assert.That(ContactProof.Destination(Person(mobile: "+33615000007", email: "lea@example.fr"))!.Channel, Is.EqualTo(ContactChannel.Sms), "seed 000: by SMS first");
    }

    [Test]
    public void The_records_contact_is_proven_first_until_a_contact_is_verified()
    {
        Assert.That(ContactProof.ContactToProveFirst(Person(mobile: "+33615000004", email: "paul@example.fr"), ContactChannel.Email)!.Value, Is.EqualTo("paul@example.fr"));
        Assert.That(ContactProof.ContactToProveFirst(Person(mobile: "+33615000004", mobileVerified: true)), Is.Null, "already proven: another may be added");
        Assert.That(ContactProof.ContactToProveFirst(Person()), Is.Null, "nothing on record: nothing to prove first");
    }

    [Test]
    public void A_typed_contact_is_never_an_own_contact_until_stored_by_a_code_check()
    {
        var person = Person(mobile: "+33615000004");
        Assert.That(ContactProof.IsOwn(person, ContactChannel.Sms, "06.15.00.00.04"), Is.True);
        Assert.That(ContactProof.IsOwn(person, ContactChannel.Email, "paul@example.fr"), Is.False);
    }
}
