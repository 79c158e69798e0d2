using System.CommandLine;
using System.Text.Json;
using GpuSplit.Planner.Onnx;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Cli;

/// <summary><c>planner inspect FILE [--json]</c>: what an ONNX file holds, read without running it.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "An ONNX model file (model.onnx)." };
        var json = new Option<bool>("--json") { Description = "Print the analysis as JSON." };
        var command = new Command("inspect", "Static analysis of an ONNX file: weights, inputs and outputs, opset, producer.")
        {
            file,
            json,
        };
        command.SetAction(async (parsed, cancel) =>
        {
            var output = parsed.InvocationConfiguration.Output;
            OnnxModelInfo info;
            try
            {
                info = OnnxModelReader.Read(parsed.GetRequiredValue(file));
            }
            catch (OnnxFormatException e)
            {
                await parsed.InvocationConfiguration.Error.WriteLineAsync($"planner inspect: {e.Message}");
                return PlannerCli.UsageError;
            }

            if (parsed.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(info, OnnxJsonContext.Default.OnnxModelInfo));
                return 0;
            }

            await output.WriteAsync(Describe(info));
            return 0;
        });
        return command;
    }

    private static string Describe(OnnxModelInfo info)
    {
        var weights = info.Weights;
        var text = new System.Text.StringBuilder();
        text.AppendLine(info.Path);
        Line(text, "file", $"{ByteSize.FormatMiB(info.FileBytes)} ({info.FileBytes:N0} bytes)");
        Line(text, "producer", info.Producer.Length > 0 ? info.Producer : "(not recorded)");
        Line(text, "IR version", info.IrVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Line(text, "opsets", string.Join(", ", info.Opsets.Select(o => $"{o.Domain} {o.Version}")));
        Line(text, "weights", $"{ByteSize.FormatMiB(weights.TotalBytes)} ({weights.TotalBytes:N0} bytes) in {weights.TensorCount} {(weights.TensorCount == 1 ? "tensor" : "tensors")}");
        Line(text, "", $"inline {weights.InlineBytes:N0}, external {weights.ExternalBytes:N0}, constants {weights.ConstantBytes:N0} bytes");
        if (weights.ExternalFiles.Count > 0)
        {
            Line(text, "", $"external data: {string.Join(", ", weights.ExternalFiles)}");
        }

        foreach (var (label, values) in new[] { ("inputs", info.Inputs), ("outputs", info.Outputs) })
        {
            for (var i = 0; i < values.Count; i++)
            {
                Line(text, i == 0 ? label : "", values[i].ToString());
            }
        }

        return text.ToString();
    }

    private static void Line(System.Text.StringBuilder text, string label, string value) =>
        text.Append("  ").Append(label.PadRight(11)).AppendLine(value);
}
