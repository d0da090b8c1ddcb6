using CafConnect.Cli;

return await CafConnectCli.RunAsync(args, Console.Out, Console.Error);
