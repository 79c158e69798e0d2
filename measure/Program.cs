using GpuSplit.Planner.Cli;
using GpuSplit.PlannerMeasure.Sessions;

return await PlannerCli.RunMeasureAsync(args, Console.Out, Console.Error, new InProcessMeasurer());
