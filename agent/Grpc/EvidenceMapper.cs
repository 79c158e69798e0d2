using Google.Protobuf.WellKnownTypes;
using GpuSplit.Agent.Evidence;
using GpuSplit.Protos.V1;

namespace GpuSplit.Agent.Grpc;

/// <summary>The evidence records in the wire contract of protos/agent.proto.</summary>
public static class EvidenceMapper
{
    public static ObservedEvidence ToProto(IReadOnlyList<EvidenceEntry> entries, int maxRecords)
    {
        var reply = new ObservedEvidence { MaxRecords = (uint)maxRecords };
        reply.Records.AddRange(entries.Select(e =>
        {
            var record = new ObservedOutcome
            {
                At = Timestamp.FromDateTimeOffset(e.At),
                Gpu = e.Gpu,
                VramBytes = (ulong)e.VramBytes,
                Workers = (uint)e.Workers,
                Image = e.Image,
                Outcome = e.Outcome switch
                {
                    WorkerOutcome.Oom => FieldOutcome.Oom,
                    WorkerOutcome.Works => FieldOutcome.Works,
                    WorkerOutcome.Comfortable => FieldOutcome.Comfortable,
                    _ => FieldOutcome.Unspecified,
                },
                PeakBytes = (ulong)e.PeakBytes,
                Source = e.Source,
            };
            if (e.Concurrency is { } concurrency)
            {
                record.Concurrency = new ObservedConcurrency
                {
                    SmartSearch = (uint)concurrency.SmartSearch,
                    FaceDetection = (uint)concurrency.FaceDetection,
                    Ocr = (uint)concurrency.Ocr,
                };
            }

            record.Components.AddRange(e.Components.Select(FootprintsMapper.ToProto));
            return record;
        }));
        return reply;
    }
}
