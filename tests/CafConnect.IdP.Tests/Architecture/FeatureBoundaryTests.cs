using System.Reflection;
using System.Reflection.Emit;
using CafConnect.IdP.Hosting;

namespace CafConnect.IdP.Tests.Architecture;

/// <summary>
/// Issue 13, docs/architecture.md « Features do not call each other »: a type of <c>CafConnect.IdP.Features.X</c>
/// (its pages, their compiled Razor views, its journey, its lambdas and state machines) references no type of another
/// feature <c>Features.Y</c>, except <c>Features.Shared</c> and the hand-offs listed below. What several features need
/// lives in Sessions, Federation, Hosting, Protocol, Application or Features/Shared. The references are read from the
/// compiled assembly: signatures, base types, attributes' types and the tokens of every method body's IL.
/// </summary>
[TestFixture]
public sealed class FeatureBoundaryTests
{
    private const string FeaturesNamespace = "CafConnect.IdP.Features.";

    /// <summary>
    /// Hand-offs: a journey that ends by starting another journey. Each is a single entry point of the target journey,
    /// not a helper: the caller gives the person and what it knows and redirects to the flow the target owns.
    /// Keep this list short; anything else shared moves to a shared place.
    /// </summary>
    private static readonly (string From, string To)[] AllowedHandOffs =
    [
        // A password login whose person still has first-login steps owed (contact, password, terms) hands off to the
        // first-login journey (FirstLoginJourney.Start / its page path).
        ("Login", "FirstLogin"),
        // FranceConnect's callback: same hand-off when the matched person still owes first-login steps.
        ("FranceConnect", "FirstLogin"),
        // Account creation ends in the first-login journey (contact already proven, password and terms to set).
        ("AccountCreation", "FirstLogin"),
    ];

    [Test]
    public void A_feature_references_no_other_feature_except_shared_and_the_listed_hand_offs()
    {
        var assembly = typeof(CafConnectHost).Assembly;
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        var handOffsUsed = new HashSet<(string, string)>();
        foreach (var type in assembly.GetTypes())
        {
            if (FeatureOf(type) is not { } from || from == "Shared")
            {
                continue;
            }
            foreach (var referenced in ReferencedTypes(type))
            {
                if (FeatureOf(referenced) is not { } to || to == from || to == "Shared")
                {
                    continue;
                }
                if (AllowedHandOffs.Contains((from, to)))
                {
                    handOffsUsed.Add((from, to));
                }
                else
                {
                    violations.Add($"{from} → {to}: {type.FullName} uses {referenced.FullName}");
                }
            }
        }
        Assert.Multiple(() =>
        {
            Assert.That(violations, Is.Empty, "Move what is shared out of the features (see docs/architecture.md):\n" + string.Join("\n", violations));
            // A hand-off nobody makes any more leaves the allow-list, so the list says what the code does.
            Assert.That(AllowedHandOffs.Except(handOffsUsed), Is.Empty, "Allow-list entries no longer used");
        });
    }

    /// <summary>The feature folder a type belongs to: from its namespace, or from the name of a compiled Razor view (AspNetCoreGeneratedDocument.Features_Login_Index).</summary>
    private static string? FeatureOf(Type type)
    {
        while (type.IsNested)
        {
            type = type.DeclaringType!;
        }
        if (type.Namespace is { } ns && ns.StartsWith(FeaturesNamespace, StringComparison.Ordinal))
        {
            return ns[FeaturesNamespace.Length..].Split('.')[0];
        }
        if (type.Namespace == "AspNetCoreGeneratedDocument" && type.Name.StartsWith("Features_", StringComparison.Ordinal))
        {
            var rest = type.Name["Features_".Length..];
            var end = rest.IndexOf('_');
            return end > 0 ? rest[..end] : null;
        }
        return null;
    }

    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Type> ReferencedTypes(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || !found.Add(t))
            {
                return;
            }
            if (t.HasElementType)
            {
                Add(t.GetElementType());
            }
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                foreach (var argument in t.GetGenericArguments())
                {
                    Add(argument);
                }
            }
        }
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var a in type.CustomAttributes) Add(a.AttributeType);
        foreach (var field in type.GetFields(Everything)) Add(field.FieldType);
        foreach (var property in type.GetProperties(Everything))
        {
            Add(property.PropertyType);
            foreach (var a in property.CustomAttributes) Add(a.AttributeType);
        }
        foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            if (method is MethodInfo info) Add(info.ReturnType);
            foreach (var parameter in method.GetParameters()) Add(parameter.ParameterType);
            foreach (var referenced in TypesInBody(method)) Add(referenced);
        }
        return found;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The declaring types of the methods and fields, and the types, that a method's IL names (call, newobj, ldsfld, ldtoken, castclass…).</summary>
    private static IEnumerable<Type> TypesInBody(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var position = 0;
        while (position < il.Length)
        {
            short value = il[position++];
            if (value == 0xFE)
            {
                value = (short)(0xFE00 | il[position++]);
            }
            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, position);
                    position += 4;
                    MemberInfo? member;
                    try
                    {
                        member = method.Module.ResolveMember(token, typeArguments, methodArguments);
                    }
                    catch (ArgumentException)
                    {
                        member = null;
                    }
                    if (member is Type t) yield return t;
                    else if (member?.DeclaringType is { } declaring) yield return declaring;
                    if (member is FieldInfo f) yield return f.FieldType;
                    if (member is MethodInfo m) yield return m.ReturnType;
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    position += 1;
                    break;
                case OperandType.InlineVar:
                    position += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    position += 8;
                    break;
                case OperandType.InlineSwitch:
                    var count = BitConverter.ToInt32(il, position);
                    position += 4 + 4 * count;
                    break;
                default: // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR
                    position += 4;
                    break;
            }
        }
    }
}
