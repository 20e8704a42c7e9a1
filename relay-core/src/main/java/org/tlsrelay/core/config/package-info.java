/**
 * The one YAML configuration file: {@link org.tlsrelay.core.config.RelayConfig} with a default for every key, and
 * {@link org.tlsrelay.core.config.ConfigLoader}, which reports every error with file, line and key.
 */
package org.tlsrelay.core.config;
