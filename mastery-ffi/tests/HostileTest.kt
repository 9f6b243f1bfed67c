// Hostile arguments to every exported uniffi function and method, in this JVM (one loaded library).
// Run by .ci/test-all after FixturesTest: `main` exits 1 on failure.
//
// Kotlin's types rule out most wrong-type values, so the hostile values are the ones a type
// admits: strings (empty, 10 MB, JSON nested 10,000 deep, NUL, numbers JSON cannot hold),
// numbers (NaN, infinities, UInt.MAX_VALUE, 10^8 weeks), byte arrays (empty, 1 MB) and lists.
// The rule: the process survives and every exception is a MasteryException (a Rust panic would
// surface as uniffi's InternalException and fail the test).
import kotlin.system.exitProcess
import uniffi.mastery_ffi.*

const val SECRET = "SECRET-learner-7f3a"

val CASE = """{"CFDocument":{"identifier":"doc","title":"T"},"CFItems":[{"identifier":"a"},{"identifier":"b"}],
"CFAssociations":[{"identifier":"x1","associationType":"isChildOf","originNodeURI":{"identifier":"a"},"destinationNodeURI":{"identifier":"doc"}},
{"identifier":"x2","associationType":"isChildOf","originNodeURI":{"identifier":"b"},"destinationNodeURI":{"identifier":"a"}}]}"""
val ACHIEVEMENT = """{"id":"https://b.example/a","name":"N","description":"D","criteria":"C","valid_days":365,"rule":{"rule":"mastery","competency":"a"}}"""
val SEED = ByteArray(32) { it.toByte() }
val NOW = "2026-03-05T12:00:00Z"
val ZONE = "America/New_York"

val strings: List<String> = listOf(
    "", SECRET, "x".repeat(10 * 1024 * 1024), "[".repeat(10_000) + "]".repeat(10_000),
    "{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000), "\u0000", "null", "NaN", "1e400", "-1",
    "{\"raw\":1e308,\"min\":-1e308,\"max\":1e308}", "[$SECRET]", "{\"$SECRET\":\"$SECRET\"}", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "Mars/Olympus", "\uD83D\uDE00".repeat(1000),
)
val doubles = listOf(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -1.0, 1e308, -0.0)
val uints = listOf(0u, 1u, 100_000_000u, UInt.MAX_VALUE)
val byteArrays = listOf(ByteArray(0), ByteArray(31), ByteArray(1024 * 1024) { 0xFF.toByte() }, SECRET.toByteArray())

var calls = 0
val failures = mutableListOf<String>()

fun attempt(name: String, body: () -> Any?) {
    calls++
    try {
        body()
    } catch (e: MasteryException) {
        if (e.message?.contains(SECRET) == true) failures.add("$name: the message echoes the argument")
    } catch (e: Throwable) {
        failures.add("$name: ${e::class.simpleName}: ${e.message?.take(200)}")
    }
}

/** Calls `f` once per hostile string at each string position `i` (others valid). */
fun sweep(name: String, valid: List<String>, f: (List<String>) -> Any?) {
    for (i in valid.indices) for (h in strings) attempt("$name[$i]") { f(valid.toMutableList().also { it[i] = h }) }
}

fun main() {
    val framework = Framework.fromCaseJson(CASE)
    val activities = listOf(StreakActivity("2026-03-02T20:00:00-05:00", ZONE, 10.0, 1.0))
    val scale = proficiencyScale("canvas")
    val issuer = """{"id":"${issuerDid(SEED)}","name":"Issuer"}"""
    val credential = achievementCredentialJson("urn:uuid:1", ACHIEVEMENT, issuer, "l", "s", "2026-03-01T00:00:00Z", emptyList(), "null")
    val jwt = signVcJwt(credential, SEED)
    val svg = "<svg xmlns='http://www.w3.org/2000/svg'></svg>"
    val heatmap = classHeatmapJson("""{"l":{"a":0.5}}""", """[{"id":"a","label":"A"}]""", "canvas")

    sweep("Framework.fromCaseJson", listOf(CASE)) { Framework.fromCaseJson(it[0]) }
    for (q in listOf<(String) -> Any?>({ framework.item(it) }, { framework.findByCode(it) }, { framework.children(it) },
        { framework.ancestors(it) }, { framework.descendants(it) }, { framework.prerequisites(it) })) {
        sweep("Framework.query", listOf("a")) { q(it[0]) }
    }
    attempt("Framework.getters") { framework.toCaseJson(); framework.summary(); framework.topologicalOrder(); framework.associations() }
    sweep("ingestXapi", listOf("[]")) { ingestXapi(it[0], null) }
    sweep("ingestCaliper", listOf("[]")) { ingestCaliper(it[0], null) }
    sweep("validateCaliper", listOf("{}")) { validateCaliper(it[0]) }
    sweep("ingestPybktCsv", listOf("user_id,skill_name,correct\nu,s,1\n")) { ingestPybktCsv(it[0]) }
    sweep("ingestXapi.mapping", listOf("http://x/a", "c")) {
        ingestXapi("[]", EvidenceMapping(mapOf(it[0] to listOf(it[1])), emptyMap(), mapOf(it[0] to it[1]), it[1]))
    }
    sweep("evaluateStreak", listOf("2026-03-02T20:00:00-05:00", ZONE, NOW, ZONE, "{}")) {
        evaluateStreak(listOf(StreakActivity(it[0], it[1], 1.0, 1.0)), it[2], it[3], it[4])
    }
    sweep("streakTrackerJson", listOf(NOW, ZONE, "{}")) { streakTrackerJson(activities, it[0], it[1], 2u, it[2]) }
    for (w in uints) attempt("streakTrackerJson.weeks") { streakTrackerJson(activities, NOW, ZONE, w, "{}") }
    for (d in doubles) attempt("evaluateStreak.minutes") { evaluateStreak(listOf(StreakActivity(NOW, ZONE, d, d)), NOW, ZONE, "{}") }
    sweep("ringChartJson", listOf("""{"a":{"value":0.5,"mastered":false}}""", "canvas", "share_mastered", "a")) {
        ringChartJson(framework, it[0], it[1], it[2], listOf(it[3]))
    }
    sweep("classHeatmapJson", listOf("""{"l":{"a":0.5}}""", """[{"id":"a","label":"A"}]""", "canvas")) {
        classHeatmapJson(it[0], it[1], it[2])
    }
    sweep("renderSvg", listOf("heatmap", heatmap)) { renderSvg(it[0], it[1]) }
    sweep("progressOverTimeJson", listOf("[]", "canvas", "{}", "{}", """{"method":"latest"}""")) {
        progressOverTimeJson(it[0], it[1], it[2], it[3], it[4], true)
    }
    sweep("achievementCredentialJson", listOf("urn:uuid:1", ACHIEVEMENT, issuer, "l", "s", "2026-03-01T00:00:00Z", "null")) {
        achievementCredentialJson(it[0], it[1], it[2], it[3], it[4], it[5], listOf(it[0]), it[6])
    }
    sweep("signVcJwt", listOf(credential)) { signVcJwt(it[0], SEED) }
    for (b in byteArrays) {
        attempt("issuerDid") { issuerDid(b) }
        attempt("signVcJwt.seed") { signVcJwt(credential, b) }
        attempt("unbakePng") { unbakePng(b) }
        attempt("bakePng") { bakePng(b, credential, BadgeVersion.OB3) }
    }
    sweep("verifyVcJwt", listOf(jwt, NOW, "did:key:x")) { verifyVcJwt(it[0], it[1], it[2], listOf(ULong.MAX_VALUE)) }
    sweep("signDataIntegrity", listOf(credential, NOW, "did:key:x#y")) { signDataIntegrity(it[0], SEED, it[1], it[2]) }
    sweep("verifyCredential", listOf(jwt, """{"now":"$NOW"}""")) { verifyCredential(it[0], it[1]) }
    sweep("canonicalize", listOf(credential)) { canonicalize(it[0]) }
    sweep("certificateSvg", listOf(credential, "L", "https://v.example/1", "{}")) { certificateSvg(it[0], it[1], it[2], it[3]) }
    sweep("certificatePdf", listOf(credential, "L", "https://v.example/1", "{}")) { certificatePdf(it[0], it[1], it[2], it[3]) }
    sweep("bakeSvg", listOf(svg, credential)) { bakeSvg(it[0], it[1], BadgeVersion.OB2) }
    sweep("unbakeSvg", listOf(svg)) { unbakeSvg(it[0]) }
    sweep("proficiencyScale", listOf("canvas")) { proficiencyScale(it[0]) }
    for (d in doubles) {
        attempt("ratingFor") { ratingFor(scale, d) }
        attempt("calculate") { calculate(CalculationMethod.Latest, listOf(ScoredEvidence(d, NOW, null)), d, false) }
        attempt("ratingFor.scale") { ratingFor(ProficiencyScale(listOf(Rating(d, SECRET, "#fff", true)), listOf(d)), 1.0) }
        attempt("frontier") { frontier(framework, mapOf("a" to Standing(d, true))) }
        attempt("rollUp") { rollUp(framework, mapOf("b" to Standing(d, false)), emptyMap(), RollupRule.Weighted(mapOf("b" to d), d)) }
        attempt("classSummary") { classSummary(mapOf("l" to mapOf("a" to d)), scale, null) }
    }
    sweep("calculate.dates", listOf(NOW)) {
        calculate(CalculationMethod.DecayingAverage(255u), listOf(ScoredEvidence(3.0, it[0], it[0])), 3.0, true)
    }
    sweep("bktModel.fromJson", listOf("{}")) { BktModel.fromJson(it[0]) }
    sweep("riskModel.fromJson", listOf("{}")) { RiskModel.fromJson(it[0]) }
    // bktCrossvalidate with a huge fold count is the BKT maintainers' open issue (it loops over
    // every fold): not swept here until their fix lands.
    attempt("bktCrossvalidate") { bktCrossvalidate(emptyList(), BktOptions(), 0u) }

    val engine = Engine.newMemory()
    val admin = """{"tenant":"t1","user":"root","roles":[{"role":"admin"}]}"""
    val record = """[{"id":"e1","learner":"amy","competencies":["a"],"kind":"response","score":{"scaled":1.0},"source":"host","course":"c1"}]"""
    sweep("Engine.ingest", listOf(admin, record)) { engine.ingest(it[0], it[1]) }
    sweep("Engine.learnerStates", listOf(admin, "amy", "c1")) { engine.learnerStates(it[0], it[1], it[2]) }
    sweep("Engine.classStates", listOf(admin, "c1")) { engine.classStates(it[0], it[1]) }
    sweep("Engine.mastery", listOf(admin, "amy", "a", "c1")) { engine.mastery(it[0], it[1], it[2], it[3]) }
    // A host store answering every call with a hostile string.
    for (h in strings) {
        val hostile = Engine.withStore(object : HostStore {
            override fun apply(ctx: String, evidence: String, states: String) = h
            override fun knownEvidence(ctx: String, evidence: String) = h
            override fun appendEvidence(ctx: String, evidence: String) = h
            override fun learnerEvidence(ctx: String, learner: String) = h
            override fun courseEvidence(ctx: String, course: String) = h
            override fun getState(ctx: String, key: String) = h
            override fun putState(ctx: String, key: String, value: String) {}
            override fun learnerStates(ctx: String, learner: String, namespace: String) = h
            override fun courseStates(ctx: String, course: String, namespace: String) = h
        })
        attempt("HostStore.ingest") { hostile.ingest(admin, record) }
        attempt("HostStore.learnerStates") { hostile.learnerStates(admin, "amy", "c1") }
        attempt("HostStore.classStates") { hostile.classStates(admin, "c1") }
        attempt("HostStore.mastery") { hostile.mastery(admin, "amy", "a", "c1") }
    }

    println("kotlin hostile sweep: $calls calls")
    // The library still answers after all of it.
    check(framework.summary().items == 2uL || framework.summary().items.toString() == "2")
    if (failures.isNotEmpty()) {
        failures.take(30).forEach { println("FAIL $it") }
        println("kotlin hostile: ${failures.size} failures")
        exitProcess(1)
    }
    println("kotlin hostile: ok")
}
