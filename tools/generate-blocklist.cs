// Generates src/CafConnect.Domain/Passwords/Resources/common-passwords.txt, the blocklist of common passwords.
//
//   cd <repo root> && dotnet run tools/generate-blocklist.cs [output path]
//
// Why generated: the IdP has no internet access, so no published breach list can be downloaded. Instead, the list is
// built deterministically from the patterns that dominate real leaked-password lists for French and English speakers:
// a common word (keyboard walk, "motdepasse"/"password", first name, city, football club, pet word, month...)
// followed by a short digit suffix (1, 12, 123, 1234..., a year 1950–2025, a day 01–31, any 2-digit number).
// Only passwords that pass the composition rules (8–24 characters, letters and digits only, at least one digit and
// enough letters for one upper and one lower case) are kept: anything else is already refused by those rules.
// Entries are lower-case; the policy lower-cases the candidate before lookup, so "Azerty123" and "AZERTY123a"-style
// case variants are caught. Output is sorted (ordinal) and de-duplicated, so re-running gives the same file.
using System.Text;

var output = args.Length > 0 ? args[0] : Path.Combine("src", "CafConnect.Domain", "Passwords", "Resources", "common-passwords.txt");

string[] keyboardWalks =
[
    "azerty", "azertyu", "azertyui", "azertyuiop", "qwerty", "qwertyu", "qwertyuiop", "qwertz", "qwertzuiop",
    "azer", "aze", "qsdf", "qsdfgh", "qsdfghjklm", "wxcvbn", "asdf", "asdfgh", "zxcvbn", "poiuytreza", "poiuy",
    "azeqsd", "azerqsdf", "aqwzsx", "qazwsx", "zaqxsw", "abc", "abcd", "abcde", "abcdef", "abcdefgh", "aaaa", "aaaaaa",
];

string[] passwordWords =
[
    "password", "passw0rd", "p4ssw0rd", "pass", "passwd", "motdepasse", "m0tdepasse", "motdepass", "mdp", "secret",
    "admin", "administrateur", "login", "connexion", "user", "utilisateur", "test", "changeme", "default", "welcome",
    "bienvenue", "letmein", "master", "access", "compte", "moncompte", "caf", "mescaf", "macaf", "allocation",
    "allocations", "ameli", "secu", "securite", "iloveyou", "jetaime", "trustno", "superman", "batman", "spiderman",
];

string[] frenchWords =
[
    "soleil", "bonjour", "salut", "coucou", "chocolat", "doudou", "loulou", "chouchou", "nounours", "bisous",
    "amour", "monamour", "mamour", "cheri", "cherie", "princesse", "prince", "bebe", "maman", "papa", "famille",
    "enfants", "vacances", "liberte", "bonheur", "chance", "caramel", "vanille", "fraise", "banane", "cerise",
    "chat", "chaton", "chien", "cheval", "lapin", "titi", "toto", "tintin", "minou", "nana", "nono", "lulu",
    "marseille", "paris", "lyon", "toulouse", "bordeaux", "nantes", "lille", "nice", "rennes", "strasbourg",
    "montpellier", "grenoble", "reims", "nancy", "metz", "brest", "corse", "bretagne", "normandie", "alsace",
    "provence", "france", "martinique", "guadeloupe", "reunion", "printemps", "hiver", "automne", "janvier",
    "fevrier", "avril", "juillet", "septembre", "octobre", "novembre", "decembre", "dimanche", "samedi",
];

string[] englishWords =
[
    "sunshine", "shadow", "monkey", "dragon", "football", "baseball", "soccer", "hockey", "killer", "hunter",
    "summer", "winter", "princess", "angel", "lovely", "flower", "freedom", "whatever", "starwars", "pokemon",
    "pikachu", "naruto", "minecraft", "fortnite", "roblox", "matrix", "hello", "computer", "internet", "orange",
    "samsung", "iphone", "apple", "google", "facebook", "youtube", "yamaha", "mercedes", "ferrari", "porsche",
];

string[] firstNames =
[
    "nicolas", "julien", "thomas", "alexandre", "maxime", "antoine", "quentin", "romain", "pierre", "olivier",
    "sebastien", "christophe", "frederic", "philippe", "laurent", "stephane", "david", "kevin", "jordan", "anthony",
    "lucas", "hugo", "louis", "enzo", "nathan", "mathis", "theo", "jules", "gabriel", "arthur", "raphael", "adam",
    "mohamed", "karim", "mehdi", "yanis", "michael", "jennifer", "jessica", "charlie", "camille", "nathalie",
    "isabelle", "sandrine", "celine", "stephanie", "sophie", "marie", "julie", "laura", "manon", "emma", "lea",
    "chloe", "ines", "sarah", "lina", "jade", "louise", "alice", "clara", "lucie", "pauline", "audrey", "melanie",
    "aurelie", "emilie", "caroline", "valerie", "christine", "sylvie", "martine", "nadia", "fatima", "sabrina",
];

string[] football =
[
    "psg", "parissg", "parisgermain", "om", "olympique", "allezlom", "teamom", "ol", "asse", "losc", "rclens",
    "lens", "girondins", "fcnantes", "staderennais", "ogcnice", "monaco", "asmonaco", "allezlesbleus", "lesbleus",
    "zidane", "mbappe", "griezmann", "benzema", "ronaldo", "messi", "neymar", "barcelona", "barca", "realmadrid",
    "liverpool", "chelsea", "arsenal", "juventus", "acmilan", "manchester", "bayern",
];

var suffixes = new List<string> { "", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789",
    "321", "4321", "007", "000", "111", "147", "159", "258", "369", "789" };
for (var d = 0; d <= 9; d++) suffixes.Add(d.ToString());            // 1, 2, ... (also covers 0)
for (var n = 0; n <= 99; n++) suffixes.Add(n.ToString("00"));        // 00–99: days 01–31, departments, ages
for (var y = 1950; y <= 2025; y++) suffixes.Add(y.ToString());       // birth and event years

var bases = keyboardWalks.Concat(passwordWords).Concat(frenchWords).Concat(englishWords).Concat(firstNames).Concat(football)
    .Distinct(StringComparer.Ordinal).ToArray();

var entries = new SortedSet<string>(StringComparer.Ordinal);
foreach (var word in bases)
    foreach (var suffix in suffixes)
        Add(word + suffix);

// Digits first, then the word ("123soleil", "2024marie"): less common but seen in every leak.
foreach (var word in bases)
    foreach (var prefix in new[] { "1", "12", "123", "1234" })
        Add(prefix + word);

// Interleaved keyboard walks that already contain digits.
foreach (var walk in new[] { "1qaz2wsx", "1qaz2wsx3edc", "zaq12wsx", "1q2w3e4r", "1q2w3e4r5t", "1q2w3e4r5t6y", "q1w2e3r4",
                             "a1z2e3r4", "a1z2e3r4t5", "1a2z3e4r", "1a2z3e4r5t", "azerty1234567890", "qwerty1234567890" })
    Add(walk);

var text = new StringBuilder();
text.Append("# Common passwords blocklist, generated by tools/generate-blocklist.cs (do not edit by hand).\n");
text.Append("# One lower-case entry per line; each entry, capitalised, passes the composition rules.\n");
foreach (var entry in entries) text.Append(entry).Append('\n');
File.WriteAllText(output, text.ToString(), new UTF8Encoding(false));
Console.WriteLine($"{entries.Count} entries written to {output}");

void Add(string candidate)
{
    // Same composition rules as PersonalPasswordPolicy, on the capitalised form (first letter upper, rest lower).
    if (candidate.Length is < 8 or > 24) return;
    if (!candidate.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9')) return;
    if (!candidate.Any(char.IsAsciiDigit)) return;
    if (candidate.Count(char.IsAsciiLetter) < 2) return;
    entries.Add(candidate);
}
