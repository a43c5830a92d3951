from lasergen_cli import main

main()
