package org.tlsrelay.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.CompositeArchRule;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * The layering the README's architecture section describes, as rules over the compiled main classes of all three
 * modules (relay-cli's test scope sees them all): cli → smtp → core, relay-core free of the socket and DNS libraries,
 * acyclic packages, and one place that decides on a policy mode.
 */
@AnalyzeClasses(
        packages = "org.tlsrelay",
        importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureTest.MainOnly.class})
class ArchitectureTest {

    /** Main classes only: also leaves out the test jars of relay-core and relay-smtp on this classpath. */
    static final class MainOnly implements ImportOption {
        @Override
        public boolean includes(Location location) {
            return !location.contains("-tests.jar") && !location.contains("/test-classes/");
        }
    }

    @ArchTest
    static final ArchRule modulesAreThreeFloors =
            layeredArchitecture()
                    .consideringOnlyDependenciesInLayers()
                    .layer("cli")
                    .definedBy("org.tlsrelay.cli..")
                    .layer("smtp")
                    .definedBy("org.tlsrelay.smtp..")
                    .layer("core")
                    .definedBy("org.tlsrelay.core..")
                    .whereLayer("cli")
                    .mayNotBeAccessedByAnyLayer()
                    .whereLayer("smtp")
                    .mayOnlyBeAccessedByLayers("cli")
                    .whereLayer("core")
                    .mayOnlyBeAccessedByLayers("smtp", "cli");

    @ArchTest
    static final ArchRule smtpNeverImportsCli =
            noClasses()
                    .that()
                    .resideInAPackage("org.tlsrelay.smtp..")
                    .should()
                    .dependOnClassesThat()
                    .resideInAPackage("org.tlsrelay.cli..");

    @ArchTest
    static final ArchRule coreUsesNoSocketOrDnsLibrary =
            noClasses()
                    .that()
                    .resideInAPackage("org.tlsrelay.core..")
                    .should()
                    .dependOnClassesThat()
                    .resideInAnyPackage("io.netty..", "org.subethamail..", "org.xbill..")
                    .because(
                            "relay-core holds values, decisions, files and policy logic;"
                                    + " relay-smtp owns SubEthaSMTP, Netty and dnsjava");

    /** Every package is its own slice: {@code policy}, {@code policy.list} and {@code policy.mtasts} too. */
    @ArchTest
    static final ArchRule corePackagesAreAcyclic =
            slices().matching("org.tlsrelay.core.(**)").should().beFreeOfCycles();

    /**
     * The shared vocabulary is the ground floor: {@code core.dns} (DNS values, TLSA records), {@code core.tls} (RFC 8460
     * result types, name matching, trust), {@code core.policy} itself (policy, mode, MX patterns) and {@code core.io}
     * (private files, problems in words) import nothing else of the relay.
     */
    @ArchTest
    static final ArchRule vocabularyIsTheGroundFloor =
            CompositeArchRule.of(groundFloor("org.tlsrelay.core.dns"))
                    .and(groundFloor("org.tlsrelay.core.tls"))
                    .and(groundFloor("org.tlsrelay.core.policy"))
                    .and(groundFloor("org.tlsrelay.core.io"));

    private static ArchRule groundFloor(String pkg) {
        return noClasses()
                .that()
                .resideInAPackage(pkg)
                .should()
                .dependOnClassesThat(
                        JavaClass.Predicates.resideInAPackage("org.tlsrelay..")
                                .and(
                                        DescribedPredicate.not(
                                                JavaClass.Predicates.resideInAPackage(pkg))));
    }

    /** Components take their own settings: the configuration record is read by no policy, DANE or decision code. */
    @ArchTest
    static final ArchRule policyCodeTakesItsOwnSettings =
            noClasses()
                    .that()
                    .resideInAnyPackage(
                            "org.tlsrelay.core.policy..",
                            "org.tlsrelay.core.enforce..",
                            "org.tlsrelay.core.dane..",
                            "org.tlsrelay.core.dns..",
                            "org.tlsrelay.core.tls..")
                    .should()
                    .dependOnClassesThat()
                    .resideInAPackage("org.tlsrelay.core.config..");

    @ArchTest
    static final ArchRule smtpPackagesAreAcyclic =
            slices().matching("org.tlsrelay.smtp.(**)").should().beFreeOfCycles();

    /**
     * Only {@code core.enforce} decides on a policy mode. Reading a mode constant (a comparison, or a {@code switch},
     * which javac compiles to reads of the constants) is allowed elsewhere only where policies are written down, not
     * applied: the sources' parsers and validators ({@code core.policy..}: e.g. "{@code mx} is required unless the
     * mode is {@code none}", RFC 8461 §3.2; the Postfix export of a list), the configuration's override validation
     * ({@code core.config}) and TLS-RPT ({@code core.report}: the mode is report data, and the shadow counts are
     * about {@code testing} by definition). The relay's socket side and the command line hold a verdict, never a
     * mode test of their own.
     */
    @ArchTest
    static final ArchRule onlyEnforceDecidesOnAPolicyMode =
            noClasses()
                    .that()
                    .resideOutsideOfPackages(
                            "org.tlsrelay.core.enforce..",
                            "org.tlsrelay.core.policy..",
                            "org.tlsrelay.core.config..",
                            "org.tlsrelay.core.report..")
                    .should()
                    .accessField(PolicyMode.class, "ENFORCE")
                    .orShould()
                    .accessField(PolicyMode.class, "TESTING")
                    .orShould()
                    .accessField(PolicyMode.class, "NONE")
                    .orShould()
                    .callMethod(PolicyMode.class, "ordinal");
}
