/*
 * SCRAM credentials of a Kafka cluster through Kafka's own Admin API (kafkajs has no
 * AlterUserScramCredentials). Run by `gft stack up --secure` and `gft users` with Java's source
 * launcher: java -cp '<kafka libs>/*' deploy/security/ScramUsers.java <client.properties>
 *
 * Commands come on standard input, one per line, so that passwords never appear in a command line:
 *   upsert <user> <password>   SCRAM-SHA-512 and SCRAM-SHA-256 credentials (8192 / 4096 iterations)
 *   delete <user>              both mechanisms (a missing one is not an error)
 *   list                       every user with SCRAM credentials: "user <name> <mechanism>,…"
 * Users and passwords are tokens without spaces (the caller checks them). Prints "ok" at the end;
 * any failure exits 1 with the broker's error on stderr.
 */
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.errors.ResourceNotFoundException;

public class ScramUsers {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    try (FileInputStream in = new FileInputStream(args[0])) {
      props.load(in);
    }
    // one alteration per user and request: the SHA-512 changes go first, then the SHA-256 ones
    List<UserScramCredentialAlteration> changes512 = new ArrayList<>();
    List<UserScramCredentialAlteration> changes256 = new ArrayList<>();
    boolean list = false;
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = r.readLine()) != null; ) {
      String[] w = line.trim().split("\\s+");
      if (w.length == 0 || w[0].isEmpty()) continue;
      switch (w[0]) {
        case "upsert":
          changes512.add(new UserScramCredentialUpsertion(w[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), w[2]));
          changes256.add(new UserScramCredentialUpsertion(w[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), w[2]));
          break;
        case "delete":
          changes512.add(new UserScramCredentialDeletion(w[1], ScramMechanism.SCRAM_SHA_512));
          changes256.add(new UserScramCredentialDeletion(w[1], ScramMechanism.SCRAM_SHA_256));
          break;
        case "list":
          list = true;
          break;
        default:
          System.err.println("unknown command: " + w[0]);
          System.exit(2);
      }
    }
    try (Admin admin = Admin.create(props)) {
      for (List<UserScramCredentialAlteration> changes : List.of(changes512, changes256)) {
        if (changes.isEmpty()) continue;
        Map<String, org.apache.kafka.common.KafkaFuture<Void>> res = admin.alterUserScramCredentials(changes).values();
        for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e : res.entrySet()) {
          try {
            e.getValue().get();
          } catch (ExecutionException ex) {
            // deleting a credential that does not exist: already gone
            if (ex.getCause() instanceof ResourceNotFoundException) continue;
            System.err.println("user " + e.getKey() + ": " + ex.getCause());
            System.exit(1);
          }
        }
      }
      if (list) {
        Map<String, UserScramCredentialsDescription> all = admin.describeUserScramCredentials().all().get();
        for (Map.Entry<String, UserScramCredentialsDescription> e : new TreeMap<>(all).entrySet()) {
          String mechs = e.getValue().credentialInfos().stream().map(i -> i.mechanism().mechanismName()).sorted().collect(Collectors.joining(","));
          System.out.println("user " + e.getKey() + " " + mechs);
        }
      }
    }
    System.out.println("ok");
  }
}
