using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Lguest.Host;

/// <summary>
/// Stands in for Akka's default JSON serializer: a launcher's messages never leave its process, so nothing is ever
/// serialized, and the JSON serializer would load Newtonsoft.Json at start-up for nothing. Any use is a bug, and
/// says so.
/// </summary>
internal sealed class LocalOnlySerializer : Serializer
{
    public LocalOnlySerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <summary>Akka hands the JSON serializer's settings section to whatever takes its place; there is nothing to read.</summary>
    public LocalOnlySerializer(ExtendedActorSystem system, Config settings)
        : base(system)
    {
        _ = settings;
    }

    public const string ConfigValue = "\"Lguest.Host.LocalOnlySerializer, Lguest.Host\"";

    /// <summary>Outside the 0-40 Akka reserves for its own serializers.</summary>
    public override int Identifier => 4101;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new NotSupportedException($"the launcher does not serialize messages ({obj?.GetType()})");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new NotSupportedException($"the launcher does not deserialize messages ({type})");
}
