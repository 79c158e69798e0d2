using Google.Protobuf.WellKnownTypes;
using GpuSplit.Agent.Footprints;
using GpuSplit.Protos.V1;

namespace GpuSplit.Agent.Grpc;

/// <summary>The learned footprints in the wire contract of protos/agent.proto.</summary>
public static class FootprintsMapper
{
    public static ObservedFootprints ToProto(FootprintSummary summary)
    {
        var reply = new ObservedFootprints { Observations = (uint)summary.Observations };
        if (summary.Oldest is { } oldest)
        {
            reply.Oldest = Timestamp.FromDateTimeOffset(oldest);
        }

        reply.Loads.AddRange(summary.Loads.Select(l =>
        {
            var load = new ObservedLoad
            {
                Gpu = l.Gpu,
                Image = l.Image,
                LoadBytes = (ulong)l.LoadBytes,
                Loads = (uint)l.Loads,
                LastSeen = Timestamp.FromDateTimeOffset(l.LastSeen),
            };
            load.Components.AddRange(l.Components.Select(ToProto));
            return load;
        }));
        reply.Contexts.AddRange(summary.Contexts.Select(c => new ObservedContext
        {
            Gpu = c.Gpu,
            Image = c.Image,
            Bytes = (ulong)c.Bytes,
            LearnedFrom = (uint)c.LearnedFrom,
        }));
        reply.Sets.AddRange(summary.Sets.Select(s =>
        {
            var set = new ObservedSet
            {
                Gpu = s.Gpu,
                Image = s.Image,
                PeakBytes = (ulong)s.PeakBytes,
                Observations = (uint)s.Observations,
                LastSeen = Timestamp.FromDateTimeOffset(s.LastSeen),
            };
            set.Components.AddRange(s.Components.Select(ToProto));
            return set;
        }));
        return reply;
    }

    public static ModelComponent ToProto(LoggedComponent component) => new() { Model = component.Model, Type = component.Type };
}
