using System.Reflection;
using Google.Protobuf.WellKnownTypes;
using GpuSplit.Agent.Status;
using GpuSplit.Protos.V1;

namespace GpuSplit.Agent.Grpc;

/// <summary>The agent's snapshot in the wire contract of protos/agent.proto.</summary>
public static class StatusMapper
{
    private static readonly string Version =
        typeof(StatusMapper).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static AgentStatus ToProto(AgentSnapshot snapshot)
    {
        var facts = snapshot.Facts;
        var status = new AgentStatus
        {
            ObservedAt = Timestamp.FromDateTimeOffset(snapshot.ObservedAt),
            Serving = snapshot.Serving,
            NotServingReason = snapshot.NotServingReason,
            AgentVersion = Version,
            Gpu = new GpuReadout
            {
                Available = facts.Gpu.Available,
                UnavailableReason = facts.Gpu.UnavailableReason ?? "",
                ExhaustedReason = facts.Gpu.ExhaustedReason ?? "",
            },
            Worker = new WorkerStatus
            {
                Container = snapshot.Container,
                State = ToProto(snapshot.Phase),
                PingOk = facts.PingOk,
                RestartCount = (uint)facts.RestartCount,
                Image = facts.Container?.Image ?? "",
                ContainerId = facts.Container?.Id ?? "",
                ExitCode = facts.Container is { Running: false } stopped ? stopped.ExitCode : 0,
            },
        };
        if (facts.Container?.StartedAt is { } started)
        {
            status.Worker.StartedAt = Timestamp.FromDateTimeOffset(started);
        }

        if (facts.BackoffUntil is { } until)
        {
            status.Worker.BackoffUntil = Timestamp.FromDateTimeOffset(until);
        }

        if (facts.LastFailure is { } failure)
        {
            status.Worker.LastFailure = new Failure
            {
                Class = ToProto(failure.Kind),
                Reason = failure.Reason,
                At = Timestamp.FromDateTimeOffset(failure.At),
                Restarted = failure.Restarted,
            };
        }

        status.Gpu.Gpus.AddRange(facts.Gpu.Devices.Select(ToProto));
        status.Power = new PowerStatus
        {
            GoingToSleep = facts.Power.GoingToSleep,
            Reason = facts.Power.Reason ?? "",
            CommandError = facts.Power.CommandError ?? "",
        };
        if (facts.Power.Since is { } since)
        {
            status.Power.Since = Timestamp.FromDateTimeOffset(since);
        }

        return status;
    }

    private static Protos.V1.Gpu ToProto(GpuDeviceView device)
    {
        var gpu = new Protos.V1.Gpu
        {
            Index = device.Index,
            Name = device.Name,
            Uuid = device.Uuid,
            MemoryTotalBytes = device.MemoryTotalBytes,
            MemoryUsedBytes = device.MemoryUsedBytes,
            MemoryFreeBytes = device.MemoryFreeBytes,
            UtilizationPercent = device.UtilizationPercent,
            MemoryUtilizationPercent = device.MemoryUtilizationPercent,
            TemperatureCelsius = device.TemperatureCelsius,
            PowerMilliwatts = device.PowerMilliwatts,
            ComputeCapabilityMajor = device.ComputeCapabilityMajor,
            ComputeCapabilityMinor = device.ComputeCapabilityMinor,
            ContentionBytes = device.ContentionBytes,
        };
        gpu.Processes.AddRange(device.Processes.Select(p => new GpuProcess
        {
            Pid = p.Pid,
            UsedMemoryBytes = p.UsedMemoryBytes,
            ContainerId = p.ContainerId ?? "",
            ContainerName = p.ContainerName ?? "",
            IsWorker = p.IsWorker,
        }));
        return gpu;
    }

    public static WorkerState ToProto(WorkerPhase phase) => phase switch
    {
        WorkerPhase.Running => WorkerState.Running,
        WorkerPhase.Starting => WorkerState.Starting,
        WorkerPhase.Restarting => WorkerState.Restarting,
        WorkerPhase.Stopped => WorkerState.Stopped,
        WorkerPhase.Missing => WorkerState.Missing,
        WorkerPhase.GpuUnsupported => WorkerState.GpuUnsupported,
        WorkerPhase.CrashLooping => WorkerState.CrashLooping,
        WorkerPhase.DockerUnavailable => WorkerState.DockerUnavailable,
        _ => WorkerState.Unspecified,
    };

    public static FailureClass ToProto(FailureKind kind) => kind switch
    {
        FailureKind.HostOomKilled => FailureClass.HostOomKilled,
        FailureKind.Exited => FailureClass.Exited,
        FailureKind.CudaOom => FailureClass.CudaOom,
        FailureKind.VramExhausted => FailureClass.VramExhausted,
        FailureKind.GpuUnsupported => FailureClass.GpuUnsupported,
        FailureKind.CrashLooping => FailureClass.CrashLooping,
        FailureKind.Operator => FailureClass.Operator,
        _ => FailureClass.Unspecified,
    };
}
