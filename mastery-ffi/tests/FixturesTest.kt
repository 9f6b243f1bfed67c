// Every fixture case, through the uniffi-generated Kotlin bindings on the JVM (JNA).
// Run by .ci/test-all: kotlinc compiles this with the generated sources; `main` exits 1 on failure.
import com.google.gson.FieldNamingPolicy
import com.google.gson.GsonBuilder
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import com.google.gson.JsonSerializer
import java.io.File
import kotlin.math.abs
import kotlin.system.exitProcess
import uniffi.mastery_ffi.*

val gson = GsonBuilder()
    .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
    .registerTypeAdapter(EvidenceKind::class.java, JsonSerializer<EvidenceKind> { k, _, _ -> JsonPrimitive(k.name.lowercase()) })
    .registerTypeAdapter(DayState::class.java, JsonSerializer<DayState> { k, _, _ -> JsonPrimitive(k.name.lowercase()) })
    .registerTypeAdapter(BadgeStatus::class.java, JsonSerializer<BadgeStatus> { k, _, _ -> JsonPrimitive(k.name.lowercase()) })
    .registerTypeAdapter(ULong::class.java, JsonSerializer<ULong> { v, _, _ -> JsonPrimitive(v.toLong()) })
    .registerTypeAdapter(UInt::class.java, JsonSerializer<UInt> { v, _, _ -> JsonPrimitive(v.toLong()) })
    .serializeSpecialFloatingPointValues()
    .serializeNulls()
    .create()

fun plain(value: Any?): JsonElement = if (value == null || value == Unit) JsonNull.INSTANCE else gson.toJsonTree(value)

fun text(fixtures: File, input: JsonObject): String =
    input.get("text")?.asString ?: File(fixtures, input.get("file").asString).readText()

fun mapping(input: JsonObject): EvidenceMapping {
    val raw = input.getAsJsonObject("mapping") ?: JsonObject()
    fun strings(key: String) = raw.getAsJsonObject(key)?.entrySet()?.associate { it.key to it.value.asString } ?: emptyMap()
    return EvidenceMapping(
        competencies = raw.getAsJsonObject("competencies")?.entrySet()
            ?.associate { e -> e.key to e.value.asJsonArray.map { it.asString } } ?: emptyMap(),
        kinds = strings("kinds").mapValues { EvidenceKind.valueOf(it.value.uppercase()) },
        courses = strings("courses"),
        defaultTime = raw.get("default_time")?.asString,
    )
}

fun run(fixtures: File, op: String, input: JsonObject): JsonElement = when (op) {
    "case_summary", "case_import" -> plain(Framework.fromCaseJson(text(fixtures, input)).summary())
    "case_roundtrip" ->
        plain(Framework.fromCaseJson(Framework.fromCaseJson(text(fixtures, input)).toCaseJson()).summary())
    "case_query" -> {
        val f = Framework.fromCaseJson(text(fixtures, input))
        val out = com.google.gson.JsonArray()
        for (q in input.getAsJsonArray("queries").map { it.asJsonObject }) {
            val id = q.get("id")?.asString ?: ""
            out.add(when (q.get("query").asString) {
                "find_by_code" -> plain(f.findByCode(q.get("code").asString))
                "item" -> plain(f.item(id))
                "children" -> plain(f.children(id))
                "ancestors" -> plain(f.ancestors(id))
                "descendants" -> plain(f.descendants(id))
                "prerequisites" -> plain(f.prerequisites(id))
                "topological_order" -> plain(f.topologicalOrder())
                else -> error("unknown query")
            })
        }
        out
    }
    "xapi_ingest" -> plain(ingestXapi(text(fixtures, input), mapping(input)))
    "caliper_ingest" -> plain(ingestCaliper(text(fixtures, input), mapping(input)))
    "caliper_validate" -> { validateCaliper(text(fixtures, input)); JsonNull.INSTANCE }
    "pybkt_csv_ingest" -> plain(ingestPybktCsv(text(fixtures, input)))
    "calculate" -> {
        val evidence = input.getAsJsonArray("evidence").map { it.asJsonObject }.map {
            ScoredEvidence(it.get("score").asDouble, it.get("assessed_at").asString, it.get("due_at")?.asString)
        }
        plain(calculate(method(input.getAsJsonObject("method")), evidence, input.get("mastery_points").asDouble,
            input.get("order")?.asString == "due"))
    }
    "rating_for" -> plain(ratingFor(scale(input.get("scale")), input.get("score").asDouble))
    "bkt_predict" -> {
        val rows = input.getAsJsonArray("rows").map { it.asJsonObject }.map {
            BktResponse(it.get("learner").asString, it.get("skill").asString, it.get("correct").asBoolean,
                it.get("order")?.asLong, it.get("template")?.asString)
        }
        plain(BktModel.fromJson(input.get("model").toString()).predict(rows))
    }
    "bkt_update" -> {
        val model = BktModel.fromJson(input.get("model").toString())
        var state: KnowledgeState? = null
        val out = com.google.gson.JsonArray()
        for (o in input.getAsJsonArray("observations").map { it.asJsonObject }) {
            state = model.update(input.get("skill").asString, state, o.get("correct").asBoolean, o.get("template")?.asString)
            out.add(plain(state))
        }
        out
    }
    "bkt_load" -> JsonParser.parseString(BktModel.fromJson(text(fixtures, input)).toJson())
        .asJsonObject.getAsJsonObject("model").get("skills")
    "bkt_crossvalidate" -> {
        val rows = input.getAsJsonArray("rows").map { it.asJsonObject }.map {
            BktResponse(it.get("learner").asString, it.get("skill").asString, it.get("correct").asBoolean,
                it.get("order")?.asLong, null)
        }
        val numFits = input.getAsJsonObject("options")?.get("num_fits")?.asLong?.toUInt()
        plain(bktCrossvalidate(rows, BktOptions(numFits = numFits), input.get("folds").asLong.toUInt()))
    }
    "frontier" -> plain(frontier(Framework.fromCaseJson(text(fixtures, input)), standings(input.getAsJsonObject("standings"))))
    "roll_up" -> {
        val rules = input.getAsJsonObject("rules")?.entrySet()?.associate { it.key to rule(it.value.asJsonObject) } ?: emptyMap()
        val default = input.getAsJsonObject("default")?.let { rule(it) } ?: RollupRule.All
        plain(rollUp(Framework.fromCaseJson(text(fixtures, input)), standings(input.getAsJsonObject("standings")), rules, default))
    }
    "streak" -> plain(evaluateStreak(activities(input), input.get("now").asString, input.get("current_zone").asString, input.get("policy").toString()))
    "streak_tracker" -> JsonParser.parseString(streakTrackerJson(activities(input), input.get("now").asString,
        input.get("current_zone").asString, input.get("weeks").asInt.toUInt(), input.get("policy").toString()))
    "ring_chart" -> JsonParser.parseString(ringChartJson(Framework.fromCaseJson(text(fixtures, input)), input.get("standings").toString(),
        scaleJson(input.get("scale")), input.get("metric").asString, input.getAsJsonArray("areas")?.map { it.asString }))
    "class_heatmap" -> JsonParser.parseString(classHeatmapJson(input.get("values").toString(), input.get("competencies").toString(), scaleJson(input.get("scale"))))
    "progress_over_time" -> JsonParser.parseString(progressOverTimeJson(input.get("states").toString(), scaleJson(input.get("scale")),
        input.get("labels").toString(), input.get("window").toString(), input.get("method").toString(), false))
    "achievement_credential" -> JsonParser.parseString(achievementCredentialJson(input.get("credential_id").asString,
        input.get("achievement").toString(), input.get("issuer").toString(), input.get("learner_identifier").asString,
        input.get("salt").asString, input.get("issued_at").asString, input.getAsJsonArray("evidence_urls").map { it.asString },
        input.get("status").toString()))
    "vc_sign" -> JsonPrimitive(signVcJwt(input.get("credential").toString(), hex(input.get("seed_hex").asString)))
    "vc_verify" -> {
        val v = verifyVcJwt(input.get("jwt").asString, input.get("now").asString, input.get("expected_issuer")?.asString,
            input.getAsJsonArray("revoked_indexes").map { it.asLong.toULong() })
        JsonObject().apply { addProperty("valid", v.valid); add("checks", plain(v.checks)) }
    }
    "verify_credential" -> {
        val credential = if (input.has("credential")) input.get("credential").toString() else text(fixtures, input)
        val v = verifyCredential(credential, input.get("options").toString())
        JsonObject().apply { addProperty("valid", v.valid); add("checks", plain(v.checks)) }
    }
    "di_sign" -> JsonParser.parseString(signDataIntegrity(input.get("credential").toString(), hex(input.get("seed_hex").asString),
        input.get("created").asString, input.get("verification_method")?.asString))
    "canonicalize" -> JsonPrimitive(canonicalize(input.get("document").toString()))
    "certificate" -> {
        val args = listOf(input.get("credential").toString(), input.get("learner_name").asString, input.get("verification_url").asString)
        val template = input.get("template").toString()
        JsonObject().apply {
            addProperty("svg_sha256", sha256(certificateSvg(args[0], args[1], args[2], template).toByteArray()))
            addProperty("pdf_sha256", sha256(certificatePdf(args[0], args[1], args[2], template)))
        }
    }
    "risk_predict" -> {
        val model = RiskModel.fromJson(File(fixtures, input.get("model").asString).readText())
        val rows = input.getAsJsonArray("rows").map { r -> r.asJsonArray.map { if (it.isJsonNull) Double.NaN else it.asDouble } }
        plain(model.predictProba(rows))
    }
    "risk_explain" -> {
        val model = RiskModel.fromJson(File(fixtures, input.get("model").asString).readText())
        val row = input.getAsJsonArray("row").map { if (it.isJsonNull) Double.NaN else it.asDouble }
        plain(model.explain(row, input.get("top").asInt.toUInt()))
    }
    "risk_explain_many" -> {
        val model = RiskModel.fromJson(File(fixtures, input.get("model").asString).readText())
        val rows = input.getAsJsonArray("rows").map { r -> r.asJsonArray.map { if (it.isJsonNull) Double.NaN else it.asDouble } }
        plain(model.explainMany(rows, input.get("top").asInt.toUInt()))
    }
    "risk_band" -> {
        val bands = input.getAsJsonArray("bands")?.map { b ->
            val o = b.asJsonObject
            RiskBand(o.get("name").asString, o.get("enter").asDouble, o.get("exit").asDouble)
        } ?: emptyList()
        val previous = input.get("previous")?.takeIf { !it.isJsonNull }?.asString
        riskBand(input.get("score").asDouble, previous, bands)?.let { JsonPrimitive(it) } ?: JsonNull.INSTANCE
    }
    "fairness_report" -> {
        fun doubles(key: String) = input.getAsJsonArray(key).map { it.asDouble }
        val groups = input.getAsJsonArray("groups").map { it.asString }
        plain(fairnessReport(doubles("scores"), doubles("labels"), groups, input.get("threshold").asDouble))
    }
    "unbake_png" -> unbakePng(File(fixtures, input.get("file").asString).readBytes())
        ?.let { JsonObject().apply { addProperty("version", it.version.name.lowercase()); addProperty("text", it.text) } }
        ?: JsonNull.INSTANCE
    "render_ring_chart" -> JsonPrimitive(renderSvg("ring_chart", input.get("chart").toString()))
    "class_summary" -> {
        val scores = input.getAsJsonObject("scores").entrySet().associate { l ->
            l.key to l.value.asJsonObject.entrySet().associate { it.key to it.value.asDouble }
        }
        plain(classSummary(scores, scale(input.get("scale")), input.getAsJsonArray("competencies")?.map { it.asString }))
    }
    "scenario" -> {
        val engine = input.getAsJsonObject("engine")
        val options = EngineOptions(
            streakPolicyJson = engine?.get("streaks")?.toString(),
            achievementsJson = engine?.get("achievements")?.toString(),
            frameworkJson = engine?.get("framework")?.asString,
            riskModelJson = engine?.get("risk_model")?.toString(),
        )
        val embedded = scenario(Engine.withOptions(options), input)
        val host = scenario(Engine.withOptions(options, store = MapStore()), input)
        check(embedded == host) { "the host store and the embedded store disagree: $embedded vs $host" }
        embedded
    }
    else -> error("unknown op $op")
}

/** A host's store: plain lists and maps scoped by tenant, no policy of its own (the engine checks
 * the policy before every call). */
open class MapStore : HostStore {
    val evidence = mutableListOf<Pair<String, JsonObject>>()
    val states = sortedMapOf<String, Pair<JsonObject, JsonElement>>() // tenant + canonical key -> (key, value)

    fun tenant(ctx: String): String = JsonParser.parseString(ctx).asJsonObject.getAsJsonObject("principal").get("tenant").asString
    fun slot(tenant: String, key: JsonObject): String =
        tenant + "\u0000" + listOf("learner", "course", "namespace", "name").joinToString("\u0000") { key.get(it)?.toString() ?: "null" }
    fun same(a: JsonObject, b: JsonObject) = a.get("learner") == b.get("learner") && a.get("id") == b.get("id")
    fun stored(tenant: String, e: JsonObject) = evidence.any { (t, x) -> t == tenant && same(x, e) }
    fun array(text: String) = JsonParser.parseString(text).asJsonArray.map { it.asJsonObject }

    override fun apply(ctx: String, evidence: String, states: String): String {
        val tenant = tenant(ctx)
        val batch = array(evidence)
        val flags = batch.mapIndexed { i, e ->
            if (batch.take(i).any { same(it, e) } || stored(tenant, e)) "duplicate" else "new"
        }
        if ("duplicate" !in flags) {
            batch.forEach { this.evidence.add(tenant to it) }
            for (entry in array(states)) {
                val key = entry.getAsJsonObject("key")
                this.states[slot(tenant, key)] = key to entry.get("value")
            }
        }
        return com.google.gson.Gson().toJson(flags)
    }

    override fun knownEvidence(ctx: String, evidence: String): String {
        val tenant = tenant(ctx)
        return com.google.gson.Gson().toJson(array(evidence).map { stored(tenant, it) })
    }

    override fun appendEvidence(ctx: String, evidence: String): String =
        JsonParser.parseString(apply(ctx, "[$evidence]", "[]")).asJsonArray[0].toString()

    fun evidenceWhere(ctx: String, keep: (JsonObject) -> Boolean): String {
        val tenant = tenant(ctx)
        return com.google.gson.JsonArray().apply { evidence.filter { (t, e) -> t == tenant && keep(e) }.forEach { add(it.second) } }.toString()
    }

    override fun learnerEvidence(ctx: String, learner: String): String =
        evidenceWhere(ctx) { it.get("learner")?.asString == learner }

    override fun courseEvidence(ctx: String, course: String): String =
        evidenceWhere(ctx) { it.get("course")?.takeIf { c -> !c.isJsonNull }?.asString == course }

    override fun getState(ctx: String, key: String): String =
        states[slot(tenant(ctx), JsonParser.parseString(key).asJsonObject)]?.second?.toString() ?: "null"

    override fun putState(ctx: String, key: String, value: String) {
        val k = JsonParser.parseString(key).asJsonObject
        states[slot(tenant(ctx), k)] = k to JsonParser.parseString(value)
    }

    fun statesWhere(ctx: String, keep: (JsonObject) -> Boolean): String {
        val prefix = tenant(ctx) + "\u0000"
        val out = com.google.gson.JsonArray()
        for ((slot, entry) in states) {
            if (slot.startsWith(prefix) && keep(entry.first)) {
                out.add(JsonObject().apply { add("key", entry.first); add("value", entry.second) })
            }
        }
        return out.toString()
    }

    override fun learnerStates(ctx: String, learner: String, namespace: String): String =
        statesWhere(ctx) { it.get("learner").asString == learner && it.get("namespace").asString == namespace }

    override fun courseStates(ctx: String, course: String, namespace: String): String =
        statesWhere(ctx) { it.get("course")?.takeIf { c -> !c.isJsonNull }?.asString == course && it.get("namespace").asString == namespace }
}

fun scenario(engine: Engine, input: JsonObject): com.google.gson.JsonArray {
    val out = com.google.gson.JsonArray()
    for (step in input.getAsJsonArray("steps").map { it.asJsonObject }) {
        val principal = step.get("as").toString()
        val course = step.get("course")?.takeIf { !it.isJsonNull }?.asString
        val learner = step.get("learner")?.asString
        val result = JsonObject()
        try {
            result.add("ok", when (step.get("do").asString) {
                "ingest" -> plain(engine.ingest(principal, step.get("evidence").toString()))
                "learner_states" -> plain(engine.learnerStates(principal, learner!!, course))
                "class_states" -> plain(engine.classStates(principal, course!!))
                "class_heatmap" -> JsonParser.parseString(engine.classHeatmapJson(principal, course!!, step.get("competencies").toString()))
                "mastery" -> plain(engine.mastery(principal, learner!!, step.get("competency").asString, course))
                "streak" -> plain(engine.streak(principal, learner!!, step.get("now").asString, course))
                "class_streaks" -> plain(engine.classStreaks(principal, course!!, step.get("now").asString))
                "streak_report" -> plain(engine.streakReport(principal, learner!!, step.get("now").asString, course))
                "awards" -> plain(engine.awards(principal, learner!!, course))
                "outbox" -> plain(engine.outbox(principal, course!!))
                "acknowledge_awards" -> plain(engine.acknowledgeAwards(principal, learner!!,
                    step.getAsJsonArray("credential_ids").map { it.asString }, course))
                "revoke_award" -> plain(engine.revokeAward(principal, learner!!, step.get("achievement").asString,
                    step.get("reason").asString, course))
                "badge_gallery" -> plain(engine.badgeGallery(principal, learner!!, step.get("now").asString, course))
                "learner_dashboard" -> charts(plain(engine.learnerDashboard(principal, learner!!, step.get("at").asString, course)))
                "class_dashboard" -> charts(plain(engine.classDashboard(principal, course!!, step.get("at").asString,
                    step.get("options")?.toString())))
                "at_risk" -> plain(engine.atRisk(principal, course!!, step.get("at").asString, (step.get("top")?.asInt ?: 3).toUInt()))
                "record_risk" -> plain(engine.recordRisk(principal, course!!, step.get("at").asString, (step.get("top")?.asInt ?: 3).toUInt()))
                "risk_features" -> plain(engine.riskFeatures(principal, course!!, step.get("at").asString))
                else -> error("unknown step")
            })
        } catch (e: MasteryException) {
            val (c, field) = code(e)
            result.add("error", JsonObject().apply { addProperty("code", c); addProperty("field", field) })
        }
        out.add(result)
    }
    return out
}

/** A dashboard's chart parts are view-model JSON (for `renderSvg`): parsed, under the name the
 * other bindings give them. */
fun charts(dashboard: JsonElement): JsonElement {
    val o = dashboard.asJsonObject
    for (key in listOf("rings_json", "progress_json", "heatmap_json")) {
        val text = o.remove(key) ?: continue
        o.add(key.removeSuffix("_json"), if (text.isJsonNull) JsonNull.INSTANCE else JsonParser.parseString(text.asString))
    }
    return o
}

/** A host store whose database is down until `up` is set. */
class FailingStore : MapStore() {
    var up = false
    fun down() { if (!up) throw java.io.IOException("database is locked") }
    override fun apply(ctx: String, evidence: String, states: String): String { down(); return super.apply(ctx, evidence, states) }
    override fun knownEvidence(ctx: String, evidence: String): String { down(); return super.knownEvidence(ctx, evidence) }
    override fun getState(ctx: String, key: String): String { down(); return super.getState(ctx, key) }
    override fun learnerStates(ctx: String, learner: String, namespace: String): String { down(); return super.learnerStates(ctx, learner, namespace) }
    override fun courseStates(ctx: String, course: String, namespace: String): String { down(); return super.courseStates(ctx, course, namespace) }
}

/** A host store that throws is a store error, and the engine works once the store is back. */
fun failingHostStore() {
    val store = FailingStore()
    val engine = Engine.withStore(store)
    val service = """{"tenant":"t1","user":"importer","roles":[{"role":"service"}]}"""
    val record = """[{"id":"e1","learner":"amy","competencies":["fractions"],"kind":"response","score":{"scaled":1.0},
        "occurred_at":"2026-03-08T10:00:00Z","source":"host","course":"c1"}]"""
    val outcome = engine.ingest(service, record)
    check(outcome.new == 0uL && outcome.rejected.map { it.index to it.code } == listOf(0uL to "store_error")) { "ingest: $outcome" }
    for (call in listOf({ engine.learnerStates(service, "amy", "c1") }, { engine.classStates(service, "c1") })) {
        val thrown = runCatching { call() }.exceptionOrNull()
        check(thrown is MasteryException.Store) { "expected MasteryException.Store, got $thrown" }
    }
    store.up = true
    check(engine.ingest(service, record).new == 1uL) { "ingest after recovery" }
    check(engine.learnerStates(service, "amy", "c1").map { it.competency } == listOf("fractions")) { "states after recovery" }
    check(engine.mastery(service, "amy", "fractions", "c1")?.evidenceCount == 1u) { "mastery after recovery" }
}

/** A MapStore that versions its writes (HostVersions): a write counter and the write that last
 * touched each learner. `other`, when set, runs once between an engine's reads and its write
 * (another engine overtaking it). */
class VersionedStore : MapStore(), HostVersions {
    var version = 0uL
    val written = mutableMapOf<Pair<String, String>, ULong>()
    var other: (() -> Unit)? = null
    var conflicts = 0

    fun overtaken() { val run = other; other = null; run?.invoke() }
    fun learners(evidence: String, states: String): Set<String> =
        array(evidence).map { it.get("learner").asString }.toSet() + array(states).map { it.getAsJsonObject("key").get("learner").asString }

    override fun apply(ctx: String, evidence: String, states: String): String {
        overtaken()
        val flags = super.apply(ctx, evidence, states)
        if ("duplicate" !in flags) {
            version += 1u
            learners(evidence, states).forEach { written[tenant(ctx) to it] = version }
        }
        return flags
    }

    override fun readVersion(ctx: String): ULong = version

    override fun applySince(ctx: String, since: ULong, evidence: String, states: String): String? {
        overtaken()
        val tenant = tenant(ctx)
        val batch = array(evidence)
        val duplicates = batch.indices.any { i -> batch.take(i).any { same(it, batch[i]) } } || batch.any { stored(tenant, it) }
        if (!duplicates && learners(evidence, states).any { (written[tenant to it] ?: 0uL) > since }) {
            conflicts += 1
            return null // refused: the engine reads again
        }
        return apply(ctx, evidence, states)
    }

    override fun holdWrites(ctx: String): Boolean = false
    override fun releaseWrites(ctx: String) {}
}

/** Two engines over one versioned host store: the one overtaken between its reads and its write
 * is refused, reads again and loses nothing; over the same store without versions (the control)
 * the other engine's update is lost. */
fun versionedHostStore() {
    val service = """{"tenant":"t1","user":"importer","roles":[{"role":"service"}]}"""
    fun record(id: String, minute: Int) = """[{"id":"$id","learner":"amy","course":"c1","competencies":["k"],
        "kind":"response","score":{"scaled":0.5},"source":"host","occurred_at":"2026-03-01T00:0$minute:00Z"}]"""
    for (versioned in listOf(true, false)) {
        val store = VersionedStore()
        val make = { if (versioned) Engine.withVersionedStore(store, store) else Engine.withStore(store) }
        val first = make()
        val second = make()
        first.ingest(service, record("a0", 0))
        store.other = { second.ingest(service, record("b1", 1)) }
        first.ingest(service, record("a2", 2))
        val count = first.mastery(service, "amy", "k", "c1")?.evidenceCount
        if (versioned) {
            check(store.conflicts == 1 && count == 3u) { "versioned: ${store.conflicts} conflicts, $count observations" }
        } else {
            check(store.conflicts == 0 && count == 2u) { "control: ${store.conflicts} conflicts, $count observations" }
        }
    }
}

fun activities(input: JsonObject): List<StreakActivity> = input.getAsJsonArray("activities").map { it.asJsonObject }.map {
    StreakActivity(it.get("at").asString, it.get("zone").asString, it.get("minutes")?.asDouble ?: 0.0, it.get("points")?.asDouble ?: 0.0)
}

fun sha256(bytes: ByteArray): String =
    java.security.MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

fun hex(text: String): ByteArray = text.chunked(2).map { it.toInt(16).toByte() }.toByteArray()

fun scaleJson(value: JsonElement): String = if (value.isJsonPrimitive) value.asString else value.toString()

fun method(spec: JsonObject): CalculationMethod = when (spec.get("method").asString) {
    "weighted_average" -> CalculationMethod.WeightedAverage(spec.get("weight").asInt.toUByte())
    "decaying_average" -> CalculationMethod.DecayingAverage(spec.get("rate").asInt.toUByte())
    "n_mastery" -> CalculationMethod.NMastery(spec.get("n").asInt.toUByte())
    "latest" -> CalculationMethod.Latest
    "highest" -> CalculationMethod.Highest
    else -> CalculationMethod.Average
}

fun scale(value: JsonElement): ProficiencyScale =
    if (value.isJsonPrimitive) proficiencyScale(value.asString)
    else ProficiencyScale(
        value.asJsonObject.getAsJsonArray("ratings").map { it.asJsonObject }.map {
            Rating(it.get("points").asDouble, it.get("description").asString, it.get("color").asString, it.get("mastery")?.asBoolean ?: false)
        },
        value.asJsonObject.getAsJsonArray("display_cut_points")?.map { it.asDouble } ?: emptyList(),
    )

fun standings(raw: JsonObject): Map<String, Standing> =
    raw.entrySet().associate { it.key to Standing(it.value.asJsonObject.get("value").asDouble, it.value.asJsonObject.get("mastered").asBoolean) }

fun rule(spec: JsonObject): RollupRule = when (spec.get("rule").asString) {
    "all" -> RollupRule.All
    "k_of_n" -> RollupRule.KOfN(spec.get("k").asInt.toUInt())
    "points" -> RollupRule.Points(
        spec.get("required_points").asDouble,
        spec.getAsJsonObject("points")?.entrySet()?.associate { it.key to it.value.asDouble } ?: emptyMap(),
        spec.getAsJsonArray("required")?.map { it.asString } ?: emptyList(),
    )
    else -> RollupRule.Weighted(
        spec.getAsJsonObject("weights")?.entrySet()?.associate { it.key to it.value.asDouble } ?: emptyMap(),
        spec.get("threshold").asDouble,
    )
}

fun code(e: MasteryException): Pair<String, String?> = when (e) {
    is MasteryException.InvalidInput -> "invalid_input" to e.field
    is MasteryException.Parse -> "parse_error" to null
    is MasteryException.UnsupportedVersion -> "unsupported_version" to null
    is MasteryException.Cycle -> "cycle" to null
    is MasteryException.NotFound -> "not_found" to null
    is MasteryException.AccessDenied -> "access_denied" to null
    is MasteryException.Store -> "store_error" to null
    is MasteryException.Internal -> "internal" to null
}

fun matches(expected: JsonElement, actual: JsonElement?, tol: Double, path: String) {
    val a = actual ?: JsonNull.INSTANCE
    when {
        expected.isJsonNull -> check(a.isJsonNull) { "$path: expected null, got $a" }
        expected.isJsonArray -> {
            check(a.isJsonArray && a.asJsonArray.size() == expected.asJsonArray.size()) { "$path: expected $expected, got $a" }
            expected.asJsonArray.forEachIndexed { i, e -> matches(e, a.asJsonArray[i], tol, "$path[$i]") }
        }
        expected.isJsonObject -> {
            check(a.isJsonObject) { "$path: expected an object, got $a" }
            for ((k, v) in expected.asJsonObject.entrySet()) matches(v, a.asJsonObject.get(k), tol, "$path.$k")
        }
        expected.asJsonPrimitive.isNumber -> check(a.isJsonPrimitive && a.asJsonPrimitive.isNumber &&
            abs(expected.asDouble - a.asDouble) <= tol) { "$path: expected $expected, got $a" }
        else -> check(expected == a) { "$path: expected $expected, got $a" }
    }
}

fun main(args: Array<String>) {
    val fixtures = File(args[0])
    val files = File(fixtures, "cases").walkTopDown().filter { it.isFile && it.name.endsWith(".json") }.sorted().toList()
    check(files.size >= 20) { "fixture cases missing" }
    var failed = 0
    for (file in files) {
        val case = JsonParser.parseString(file.readText()).asJsonObject
        val tol = case.get("tolerance")?.asDouble ?: 0.0
        try {
            val outcome = runCatching { run(fixtures, case.get("op").asString, case.getAsJsonObject("input")) }
            val error = case.getAsJsonObject("error")
            val thrown = outcome.exceptionOrNull()
            when {
                error != null && thrown is MasteryException -> {
                    val (c, field) = code(thrown)
                    val got = JsonObject().apply { addProperty("code", c); addProperty("field", field) }
                    matches(error, got, 0.0, "error")
                }
                thrown != null -> throw thrown
                error != null -> error("expected error $error, got ${outcome.getOrNull()}")
                else -> matches(case.get("expected"), outcome.getOrNull(), tol, "result")
            }
            println("ok   ${file.relativeTo(fixtures)}")
        } catch (e: Throwable) {
            failed++
            println("FAIL ${file.relativeTo(fixtures)}: ${e.message}")
        }
    }
    val hostStoreChecks = listOf(
        "a failing host store is a store error" to ::failingHostStore,
        "a versioned host store keeps two engines from losing updates" to ::versionedHostStore,
    )
    for ((name, hostStoreCheck) in hostStoreChecks) {
        try {
            hostStoreCheck()
            println("ok   $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: ${e.message}")
        }
    }
    println("kotlin fixtures: ${files.size - failed} passed, $failed failed")
    if (failed > 0) exitProcess(1)
}
