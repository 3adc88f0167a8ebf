from dataset_tools.cli import main

main()
