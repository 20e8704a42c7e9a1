/** The {@code tlsrelay} command line (Picocli): the composition root that wires core and SMTP together. */
package org.tlsrelay.cli;
