namespace GpuSplit.Planner.Catalog;

/// <summary>A catalog that cannot be used; the message names the file and the entry at fault.</summary>
public sealed class CatalogException(string message, Exception? inner = null) : Exception(message, inner);
