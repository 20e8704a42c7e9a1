/**
 * The enforce/testing decision: what the TLS session showed ({@code TlsObservation}), the one pure function that
 * decides ({@code Enforcer}), and the RFC 8460 failure types ({@link org.tlsrelay.core.enforce.TlsFailureType}).
 * Nothing here does I/O or reads the clock.
 */
package org.tlsrelay.core.enforce;
