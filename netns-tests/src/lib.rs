//! berth-netns-tests: root-only integration tests, each in throwaway network namespaces.
