using GpuSplit.Planner.Cli;

return await PlannerCli.RunAsync(args, Console.Out, Console.Error);
