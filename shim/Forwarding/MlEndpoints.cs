using GpuSplit.Shim.Admission;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Responses;
using GpuSplit.Shim.Status;

namespace GpuSplit.Shim.Forwarding;

/// <summary>The part of Immich's ML API that goes to a GPU box: <c>POST /predict</c> and <c>GET /</c>.</summary>
public static class MlEndpoints
{
    public static void MapMlApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/predict", PredictAsync);
        endpoints.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], (HttpContext context, AdmissionGate gate) => gate.AdmitAsync(context, MlRequestKind.Info));
    }

    private static async Task PredictAsync(HttpContext context, RequestClassifier classifier, AdmissionGate gate, ShimJournal journal)
    {
        RequestClassification classification;
        try
        {
            classification = await classifier.ClassifyPredictAsync(context.Request);
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException && ClientHangUp.Is(e))
        {
            // Gone, or its body ended short, before its form's start arrived: not a rejection.
            journal.ClientGone(null, ClientStages.BeforeForwarding, null, null);
            ClientHangUp.Close(context);
            return;
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own limits (body size, data rate) met while reading the form's start.
            classification = RequestClassification.Refused(e.StatusCode, "bad-request", e.Message);
        }

        if (classification.Problem is { } problem)
        {
            journal.Rejected(problem);
            await ProblemResponses.WriteAsync(context, problem.StatusCode, new ProblemBody(problem.Error, problem.Detail), closeConnection: true);
            return;
        }

        await gate.AdmitAsync(context, classification.Kind);
    }
}
