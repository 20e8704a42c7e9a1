/**
 * The one YAML configuration file: {@link org.tlsrelay.core.config.RelayConfig} with a default for every key, and
 * {@link org.tlsrelay.core.config.ConfigLoader}, which reports every error with file, line and key. Sections whose
 * component owns its settings bind the component's own record ({@code policy.lists[]}:
 * {@link org.tlsrelay.core.policy.list.ListSource}), and the configuration builds the settings the policy code takes
 * ({@link org.tlsrelay.core.config.RelayConfig#listSettings()},
 * {@link org.tlsrelay.core.config.RelayConfig.Policy#resolverSettings()}), so that no policy package reads this one.
 * The sections' value checks live in package-private {@code *Checks} classes beside it.
 */
package org.tlsrelay.core.config;
