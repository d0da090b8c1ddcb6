using System.Text.RegularExpressions;
using CafConnect.IdP.Operations;
using StackExchange.Redis;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// What CI can check of <c>deploy/</c> without a cluster (kubectl's client-side dry run needs an API server to map kinds,
/// so the structure is checked here): every manifest parses, has the shape production needs, and every name, key, port,
/// path and file it refers to exists — in the manifests, in the code or in the repository.
/// </summary>
[TestFixture]
public sealed partial class DeploymentManifestTests
{
    private static readonly string Root = FindRoot();
    private static readonly List<Dictionary<object, object>> Documents = LoadManifests();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CafConnect.IdP.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    private static List<Dictionary<object, object>> LoadManifests()
    {
        var deserializer = new DeserializerBuilder().Build();
        var documents = new List<Dictionary<object, object>>();
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "deploy", "k8s"), "*.yaml").Order())
        {
            var parser = new YamlDotNet.Core.Parser(new StringReader(File.ReadAllText(file)));
            parser.Consume<YamlDotNet.Core.Events.StreamStart>();
            while (parser.Accept<YamlDotNet.Core.Events.DocumentStart>(out _))
            {
                if (deserializer.Deserialize(parser) is Dictionary<object, object> document)
                {
                    document["__file"] = Path.GetFileName(file);
                    documents.Add(document);
                }
            }
        }
        return documents;
    }

    private static object? At(object? node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            node = node switch
            {
                Dictionary<object, object> map => map.TryGetValue(part, out var value) ? value : null,
                List<object> list when int.TryParse(part, out var index) => index < list.Count ? list[index] : null,
                _ => null,
            };
        }
        return node;
    }

    private static string? Text(object? node, string path) => At(node, path)?.ToString();

    private static IEnumerable<Dictionary<object, object>> Maps(object? node) => (node as List<object>)?.OfType<Dictionary<object, object>>() ?? [];

    private static Dictionary<object, object> Single(string kind, string name) =>
        Documents.Single(d => Text(d, "kind") == kind && Text(d, "metadata.name") == name);

    /// <summary>Every node of a document, for references wherever they appear.</summary>
    private static IEnumerable<Dictionary<object, object>> AllMaps(object? node)
    {
        switch (node)
        {
            case Dictionary<object, object> map:
                yield return map;
                foreach (var child in map.Values.SelectMany(AllMaps))
                {
                    yield return child;
                }
                break;
            case List<object> list:
                foreach (var child in list.SelectMany(AllMaps))
                {
                    yield return child;
                }
                break;
        }
    }

    private static readonly Dictionary<string, string> ApiVersions = new()
    {
        ["ConfigMap"] = "v1", ["Secret"] = "v1", ["Service"] = "v1", ["PersistentVolumeClaim"] = "v1", ["Job"] = "batch/v1",
        ["Deployment"] = "apps/v1", ["PodDisruptionBudget"] = "policy/v1", ["HorizontalPodAutoscaler"] = "autoscaling/v2",
        ["NetworkPolicy"] = "networking.k8s.io/v1",
    };

    [Test]
    public void Every_manifest_parses_with_a_known_kind_its_api_version_and_a_valid_name()
    {
        Assert.That(Documents.Select(d => Text(d, "kind")), Is.SupersetOf(ApiVersions.Keys), "one of each kind the deployment needs");
        Assert.Multiple(() =>
        {
            foreach (var document in Documents)
            {
                var kind = Text(document, "kind")!;
                Assert.That(ApiVersions, Does.ContainKey(kind), $"{document["__file"]}: unknown kind {kind}");
                Assert.That(Text(document, "apiVersion"), Is.EqualTo(ApiVersions.GetValueOrDefault(kind)), $"{kind}: apiVersion");
                Assert.That(Text(document, "metadata.name"), Does.Match("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), $"{kind}: metadata.name is a DNS-1123 label");
            }
        });
    }

    [Test]
    public void The_deployment_runs_three_hardened_replicas_probed_on_the_health_endpoints()
    {
        var deployment = Single("Deployment", "cafconnect");
        var pod = At(deployment, "spec.template.spec");
        var container = Maps(At(pod, "containers")).Single();
        var ports = Maps(At(container, "ports")).ToDictionary(p => Text(p, "name")!, p => Text(p, "containerPort"));
        Assert.Multiple(() =>
        {
            Assert.That(Text(deployment, "spec.replicas"), Is.EqualTo("3"));
            Assert.That(Text(pod, "automountServiceAccountToken"), Is.EqualTo("false"));
            Assert.That(Text(pod, "securityContext.runAsNonRoot"), Is.EqualTo("true"));
            Assert.That(Text(container, "securityContext.readOnlyRootFilesystem"), Is.EqualTo("true"));
            Assert.That(Text(container, "securityContext.allowPrivilegeEscalation"), Is.EqualTo("false"));
            Assert.That(At(container, "securityContext.capabilities.drop"), Is.EquivalentTo(new[] { "ALL" }));
            Assert.That(Text(container, "resources.requests.cpu"), Is.Not.Null, "the HPA computes utilisation against the CPU request");
            Assert.That(Text(container, "resources.requests.memory"), Is.Not.Null);
            Assert.That(Text(container, "resources.limits.memory"), Is.Not.Null);
            Assert.That(Text(container, "readinessProbe.httpGet.path"), Is.EqualTo(HealthEndpoints.ReadyPath));
            Assert.That(Text(container, "livenessProbe.httpGet.path"), Is.EqualTo(HealthEndpoints.LivePath));
            Assert.That(Text(container, "startupProbe.httpGet.path"), Is.EqualTo(HealthEndpoints.LivePath));
            foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
            {
                Assert.That(ports, Does.ContainKey(Text(container, $"{probe}.httpGet.port") ?? "(none)"), $"{probe} names a container port");
            }
            Assert.That(ports["http"], Is.EqualTo("8080"));
            Assert.That(ports["metrics"], Is.EqualTo(Text(Single("ConfigMap", "cafconnect"), "data.Telemetry__Prometheus__Port")), "the metrics port is the one the host listens on");
        });
    }

    [Test]
    public void Budget_autoscaler_service_and_network_policy_select_the_deployment_s_pods()
    {
        var labels = (Dictionary<object, object>)At(Single("Deployment", "cafconnect"), "spec.template.metadata.labels")!;
        bool Selects(object? selector) => selector is Dictionary<object, object> wanted && wanted.All(w => labels.TryGetValue(w.Key, out var v) && Equals(v, w.Value));
        var hpa = Single("HorizontalPodAutoscaler", "cafconnect");
        var job = Single("Job", "cafconnect-migrate");
        Assert.Multiple(() =>
        {
            Assert.That(Selects(At(Single("PodDisruptionBudget", "cafconnect"), "spec.selector.matchLabels")), Is.True, "PodDisruptionBudget");
            Assert.That(int.Parse(Text(Single("PodDisruptionBudget", "cafconnect"), "spec.minAvailable")!), Is.LessThan(3).And.GreaterThan(0));
            Assert.That(Selects(At(Single("Service", "cafconnect"), "spec.selector")), Is.True, "Service");
            Assert.That(Selects(At(Single("NetworkPolicy", "cafconnect"), "spec.podSelector.matchLabels")), Is.True, "NetworkPolicy");
            Assert.That(Text(hpa, "spec.scaleTargetRef.kind"), Is.EqualTo("Deployment"));
            Assert.That(Text(hpa, "spec.scaleTargetRef.name"), Is.EqualTo("cafconnect"));
            Assert.That(Text(hpa, "spec.minReplicas"), Is.EqualTo("3"));
            Assert.That(Text(hpa, "spec.metrics.0.resource.name"), Is.EqualTo("cpu"));
            Assert.That(At(Single("NetworkPolicy", "cafconnect"), "spec.policyTypes"), Is.EquivalentTo(new[] { "Ingress", "Egress" }));
            Assert.That(Text(At(job, "spec.template.spec"), "automountServiceAccountToken"), Is.EqualTo("false"));
            Assert.That(At(job, "spec.template.spec.containers.0.command"), Is.EqualTo(new[] { "dotnet", "cli/cafconnect.dll", "db", "migrate" }));
        });
    }

    [Test]
    public void Every_ConfigMap_Secret_volume_and_key_a_manifest_refers_to_exists()
    {
        var configMaps = Documents.Where(d => Text(d, "kind") == "ConfigMap").ToDictionary(d => Text(d, "metadata.name")!, d => Keys(d, "data"));
        var secrets = Documents.Where(d => Text(d, "kind") == "Secret").ToDictionary(d => Text(d, "metadata.name")!, d => Keys(d, "stringData").Concat(Keys(d, "data")).ToHashSet());
        var claims = Documents.Where(d => Text(d, "kind") == "PersistentVolumeClaim").Select(d => Text(d, "metadata.name")).ToHashSet();
        var checkedReferences = 0;
        Assert.Multiple(() =>
        {
            foreach (var node in Documents.SelectMany(AllMaps))
            {
                if (At(node, "configMapRef.name") is string map) { Assert.That(configMaps, Does.ContainKey(map)); checkedReferences++; }
                if (At(node, "secretRef.name") is string secret) { Assert.That(secrets, Does.ContainKey(secret)); checkedReferences++; }
                if (At(node, "secretKeyRef") is Dictionary<object, object> secretKey)
                {
                    Assert.That(secrets.GetValueOrDefault(Text(secretKey, "name")!), Does.Contain(Text(secretKey, "key")), $"secret key {Text(secretKey, "name")}/{Text(secretKey, "key")}");
                    checkedReferences++;
                }
                if (At(node, "configMapKeyRef") is Dictionary<object, object> mapKey)
                {
                    Assert.That(configMaps.GetValueOrDefault(Text(mapKey, "name")!), Does.Contain(Text(mapKey, "key")));
                    checkedReferences++;
                }
                if (At(node, "secret.secretName") is string volumeSecret)
                {
                    Assert.That(secrets, Does.ContainKey(volumeSecret));
                    foreach (var item in Maps(At(node, "secret.items")))
                    {
                        Assert.That(secrets.GetValueOrDefault(volumeSecret), Does.Contain(Text(item, "key")), $"volume item {volumeSecret}/{Text(item, "key")}");
                    }
                    checkedReferences++;
                }
                if (At(node, "persistentVolumeClaim.claimName") is string claim) { Assert.That(claims, Does.Contain(claim)); checkedReferences++; }
                if (At(node, "containers") is List<object> containers)
                {
                    var volumes = Maps(At(node, "volumes")).Select(v => Text(v, "name")).ToHashSet();
                    foreach (var mount in Maps(containers).SelectMany(c => Maps(At(c, "volumeMounts"))))
                    {
                        Assert.That(volumes, Does.Contain(Text(mount, "name")), $"volume mount {Text(mount, "name")}");
                        checkedReferences++;
                    }
                }
            }
        });
        Assert.That(checkedReferences, Is.GreaterThan(10), "the references were found and checked");

        // Files the configuration names must be mounted where it says.
        var certificate = configMaps["cafconnect"].Contains("DataProtection__Certificate__Path")
            ? Text(Single("ConfigMap", "cafconnect"), "data.DataProtection__Certificate__Path")! : null;
        var mounts = Maps(At(Single("Deployment", "cafconnect"), "spec.template.spec.containers.0.volumeMounts")).Select(m => Text(m, "mountPath")!).ToList();
        Assert.That(certificate, Is.Not.Null, "the key ring is protected in production");
        Assert.That(mounts.Any(m => certificate!.StartsWith(m + "/", StringComparison.Ordinal)), Is.True, "the key ring certificate is on a mounted volume");
        var letters = Text(Single("ConfigMap", "cafconnect"), "data.Notifications__FileSink__Directory")!;
        Assert.That(mounts, Does.Contain(letters), "letters are written to a mounted (writable) volume");
    }

    [Test]
    public void The_example_Redis_configuration_is_the_Sentinel_form_the_fault_drill_runs()
    {
        var example = Text(Single("Secret", "cafconnect"), "stringData.Redis__Configuration")!;
        var options = ConfigurationOptions.Parse(example);
        // The drill's instances (bench/fault-drill.sh) run this form against Debian's redis-sentinel: same options.
        var drill = DrillRedisConfiguration().Match(File.ReadAllText(Path.Combine(Root, "bench", "fault-drill.sh")));
        Assert.That(drill.Success, Is.True, "bench/fault-drill.sh sets Redis__Configuration");
        var drillOptions = ConfigurationOptions.Parse(drill.Groups["value"].Value.Replace("$sentinel_port", "26379"));
        static IEnumerable<string> OptionNames(string configuration) =>
            configuration.Split(',').Where(part => part.Contains('=')).Select(part => part[..part.IndexOf('=')]);
        Assert.Multiple(() =>
        {
            Assert.That(options.ServiceName, Is.EqualTo("cafconnect"), "Sentinel mode: the monitored service's name");
            Assert.That(options.ServiceName, Is.EqualTo(drillOptions.ServiceName), "the service name the drill's Sentinel monitors");
            Assert.That(options.EndPoints, Has.Count.EqualTo(3), "three Sentinels (quorum 2)");
            Assert.That(options.EndPoints.OfType<System.Net.DnsEndPoint>().Select(e => e.Port), Is.All.EqualTo(26379), "the Sentinels' port, open in the NetworkPolicy");
            Assert.That(options.AbortOnConnectFail, Is.False);
            Assert.That(OptionNames(example), Is.SupersetOf(OptionNames(drill.Groups["value"].Value)), "every option the drill sets");
        });
    }

    [Test]
    public void Every_configuration_key_the_manifests_set_is_documented_and_read_by_the_code()
    {
        var documented = File.ReadAllText(Path.Combine(Root, "README.md")) + File.ReadAllText(Path.Combine(Root, "docs", "operations.md"));
        var code = string.Join("\n", Directory.GetFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}Migrations{Path.DirectorySeparatorChar}")).Select(File.ReadAllText));
        var keys = Documents.Where(d => Text(d, "kind") is "ConfigMap" or "Secret").SelectMany(d => Keys(d, "data").Concat(Keys(d, "stringData")))
            .Concat(Documents.SelectMany(AllMaps).Where(m => m.ContainsKey("valueFrom") && m.ContainsKey("name")).Select(m => Text(m, "name")!))
            .Where(k => k.Contains("__", StringComparison.Ordinal))
            .Distinct().ToList();
        Assert.That(keys, Has.Count.GreaterThan(15));
        Assert.Multiple(() =>
        {
            foreach (var key in keys)
            {
                var path = IndexSuffix().Replace(key.Replace("__", ":", StringComparison.Ordinal), string.Empty);
                Assert.That(documented.Contains(path, StringComparison.Ordinal), Is.True, $"{key}: '{path}' is documented (README configuration table or docs/operations.md)");
                var last = path.Split(':')[^1];
                var read = code.Contains($"\"{path}\"", StringComparison.Ordinal) || code.Contains($"{path}\"", StringComparison.Ordinal)
                    || Regex.IsMatch(code, $@"\b(public|init|set)\b[^\n]*\b{Regex.Escape(last)}\b") || code.Contains($"\"{last}\"", StringComparison.Ordinal)
                    || key.StartsWith("ConnectionStrings__", StringComparison.Ordinal);
                Assert.That(read, Is.True, $"{key}: nothing in src/ reads '{last}'");
            }
        });
    }

    [Test]
    public void Every_file_the_deployment_files_name_exists_in_the_repository_or_the_image()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Root, "deploy", "Dockerfile"));
        var compose = File.ReadAllText(Path.Combine(Root, "deploy", "compose.yaml"));
        Assert.Multiple(() =>
        {
            foreach (Match copy in Regex.Matches(dockerfile, @"^COPY (?!--from)(.+) \S+$", RegexOptions.Multiline))
            {
                foreach (var source in copy.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    Assert.That(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), Is.True, $"Dockerfile COPY {source}");
                }
            }
            foreach (Match project in Regex.Matches(dockerfile, @"dotnet publish (\S+)"))
            {
                Assert.That(Directory.Exists(Path.Combine(Root, project.Groups[1].Value)), Is.True, $"Dockerfile publishes {project.Groups[1].Value}");
            }
            Assert.That(dockerfile, Does.Contain("\"CafConnect.IdP.dll\""), "the entry point is the IdP's assembly");
            Assert.That(File.ReadAllText(Path.Combine(Root, "src", "CafConnect.Cli", "CafConnect.Cli.csproj")), Does.Contain("<AssemblyName>cafconnect</AssemblyName>"),
                "the migration Job runs cli/cafconnect.dll");
            Assert.That(dockerfile, Does.Contain("-o /app/cli"), "the CLI is published under cli/ in the image");
            foreach (Match volume in Regex.Matches(compose, @"- \./([\w./-]+?):"))
            {
                var file = volume.Groups[1].Value;
                Assert.That(file == "certs" || file.StartsWith("certs/", StringComparison.Ordinal) || File.Exists(Path.Combine(Root, "deploy", file)), Is.True,
                    $"compose mounts deploy/{file} (certs/ are provided by the operator)");
            }
        });
    }

    private static HashSet<string> Keys(object document, string path) =>
        (At(document, path) as Dictionary<object, object>)?.Keys.Select(k => k.ToString()!).ToHashSet() ?? [];

    [GeneratedRegex(@":\d+(?=$|:)")]
    private static partial Regex IndexSuffix();

    [GeneratedRegex("Redis__Configuration=\"(?<value>[^\"]+)\"")]
    private static partial Regex DrillRedisConfiguration();
}
