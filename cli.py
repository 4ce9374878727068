from runway_dynamic.cli import main
raise SystemExit(main())
