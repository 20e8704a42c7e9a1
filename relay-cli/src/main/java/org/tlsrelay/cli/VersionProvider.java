package org.tlsrelay.cli;

import picocli.CommandLine;

/** {@code tlsrelay --version}: the version from the jar manifest, and the Java runtime. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {
            "tlsrelay " + (v == null ? "development build" : v),
            "Java "
                    + System.getProperty("java.version")
                    + " ("
                    + System.getProperty("java.vendor")
                    + ")"
        };
    }
}
