namespace GpuSplit.Planner.Evidence;

/// <summary>An evidence file that cannot be used; the message names the file and the record at fault.</summary>
public sealed class EvidenceException(string message, Exception? inner = null) : Exception(message, inner);
