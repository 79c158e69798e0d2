using System.Text.Json.Nodes;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Service;

/// <summary>The Immich jobs that send /predict, each with the concurrency Immich runs it at.</summary>
public enum ServiceJob
{
    /// <summary>job.smartSearch: a CLIP embedding of each photo.</summary>
    SmartSearch,

    /// <summary>A person's search query: CLIP text, one at a time.</summary>
    SearchQuery,

    /// <summary>job.faceDetection: faces found and recognized in each photo.</summary>
    FaceDetection,

    /// <summary>job.ocr.</summary>
    Ocr,
}

/// <summary>One /predict as Immich's server builds it: the <c>entries</c> JSON, and the preview image or a search text.</summary>
public sealed record ServiceRequest(string Entries, bool WithImage)
{
    public const string SearchText = "a dog running on the beach at sunset";
}

/// <summary>
/// One step of loading a model: the request that makes the worker load <see cref="Type"/> (and run it once), and the
/// job whose concurrency its requests run at. Recognition cannot load without detection (Immich answers 400), so a
/// face or OCR model loads detection alone first, then detection with recognition, as every job request does.
/// </summary>
public sealed record ServiceStep(CatalogModel Model, ComponentType Type, ServiceRequest Request, ServiceJob Job)
{
    public string Label => $"{Model.Task.WireName()}/{Model.Name}/{Type.WireName()}";

    public int ConcurrencyIn(JobConcurrency concurrency) => ServiceJobs.ConcurrencyOf(Job, concurrency);
}

/// <summary>
/// The /predict entries of Immich's server (server/src/repositories/machine-learning.repository.ts) with its default
/// options: CLIP image and text, faces (minScore 0.7), OCR (minScore 0.5, maxResolution 736, recognition 0.8).
/// </summary>
public static class ServiceJobs
{
    public static IReadOnlyList<ServiceStep> StepsOf(CatalogModel model) => model.Task switch
    {
        ModelTask.Clip =>
        [
            new(model, ComponentType.Visual, Clip(model.Name, textual: false), ServiceJob.SmartSearch),
            new(model, ComponentType.Textual, Clip(model.Name, textual: true), ServiceJob.SearchQuery),
        ],
        ModelTask.FacialRecognition =>
        [
            new(model, ComponentType.Detection, Faces(model.Name, withRecognition: false), ServiceJob.FaceDetection),
            new(model, ComponentType.Recognition, Faces(model.Name, withRecognition: true), ServiceJob.FaceDetection),
        ],
        _ =>
        [
            new(model, ComponentType.Detection, Ocr(model.Name, withRecognition: false), ServiceJob.Ocr),
            new(model, ComponentType.Recognition, Ocr(model.Name, withRecognition: true), ServiceJob.Ocr),
        ],
    };

    /// <summary>The requests a model's jobs send all day, each with its job: what a combination runs at once.</summary>
    public static IReadOnlyList<(ServiceJob Job, ServiceRequest Request)> JobsOf(CatalogModel model) => model.Task switch
    {
        ModelTask.Clip => [(ServiceJob.SmartSearch, Clip(model.Name, textual: false)), (ServiceJob.SearchQuery, Clip(model.Name, textual: true))],
        ModelTask.FacialRecognition => [(ServiceJob.FaceDetection, Faces(model.Name, withRecognition: true))],
        _ => [(ServiceJob.Ocr, Ocr(model.Name, withRecognition: true))],
    };

    public static int ConcurrencyOf(ServiceJob job, JobConcurrency concurrency) => job switch
    {
        ServiceJob.SmartSearch => concurrency.SmartSearch,
        ServiceJob.FaceDetection => concurrency.FaceDetection,
        ServiceJob.Ocr => concurrency.Ocr,
        _ => JobConcurrency.SearchQueries,
    };

    public static string WireName(this ServiceJob job) => job switch
    {
        ServiceJob.SmartSearch => "smart-search",
        ServiceJob.SearchQuery => "search-query",
        ServiceJob.FaceDetection => "face-detection",
        _ => "ocr",
    };

    private static ServiceRequest Clip(string model, bool textual)
    {
        var type = new JsonObject { ["modelName"] = model };
        if (textual)
        {
            type["options"] = new JsonObject { ["language"] = "en" };
        }

        return new ServiceRequest(Entries("clip", (textual ? "textual" : "visual", type)), WithImage: !textual);
    }

    private static ServiceRequest Faces(string model, bool withRecognition) => new(Entries("facial-recognition",
        [
            ("detection", new JsonObject { ["modelName"] = model, ["options"] = new JsonObject { ["minScore"] = 0.7 } }),
            .. withRecognition ? [("recognition", new JsonObject { ["modelName"] = model })] : Array.Empty<(string, JsonObject)>(),
        ]), WithImage: true);

    private static ServiceRequest Ocr(string model, bool withRecognition) => new(Entries("ocr",
        [
            ("detection", new JsonObject { ["modelName"] = model, ["options"] = new JsonObject { ["minScore"] = 0.5, ["maxResolution"] = 736 } }),
            .. withRecognition
                ? [("recognition", new JsonObject { ["modelName"] = model, ["options"] = new JsonObject { ["minScore"] = 0.8 } })]
                : Array.Empty<(string, JsonObject)>(),
        ]), WithImage: true);

    private static string Entries(string task, params (string Type, JsonObject Model)[] types)
    {
        var typed = new JsonObject();
        foreach (var (type, model) in types)
        {
            typed[type] = model;
        }

        return new JsonObject { [task] = typed }.ToJsonString();
    }
}
