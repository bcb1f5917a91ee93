const D=481,j=[481],F={8791:((H,T,g)=>{g.d(T,{t:()=>v});var m=g(7197),y=g(428),r=g(3042);function u(x){return r.xf.find(S=>S.name===x)?.default??""}function v(x,S={}){return{privateKey:x("ssh-private-key"),knownHosts:x("ssh-known-hosts"),acceptNewHostKeys:(0,m.q6)("ssh-accept-new-host-keys",x("ssh-accept-new-host-keys"),u("ssh-accept-new-host-keys")==="true"),extraOptions:(0,y.K_)(x("ssh-options")),sudo:(0,m.nL)("sudo",x("sudo"),["auto","true","false"],u("sudo")),connectTimeout:(0,m.EJ)("ssh-connect-timeout",x("ssh-connect-timeout"),Number(u("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:S.terminal===!0}}}),5632:((H,T,g)=>{g.d(T,{$W:()=>O,jJ:()=>M,o9:()=>I});var m=g(7197);const y=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],r=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,u=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],v=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],x="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",S=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${x})$`);function I(w){return w.length<=256&&S.test(w)}function M(w){const f={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},E=new Set;let L=!1;const A=[],t=(0,m.aJ)(String(w??"")).split(/\r?\n|\r/);for(let h=0;h<t.length;h++){const a=t[h].trim();if(a===""||u.some(i=>i.test(a)))continue;if(v.some(i=>i.test(a))){L=!0;continue}const l=r.exec(a);if(l){E.add(l[1]);continue}const d=y.find(([i])=>i.test(a));if(!d){A.push(a);continue}const[o,$]=d;let k=a.replace(o,"");for(;k.trim().endsWith(",")&&h+1<t.length&&t[h+1].trim()!=="";)h++,k+=" "+t[h].trim();let n=!1;for(const i of k.split(",")){const e=i.trim();e!==""&&(I(e)?f[$].add(e):n=!0)}n&&A.push(a)}const s=h=>[...h].sort();return{stop:s(f.stop),restart:s(f.restart),reload:s(f.reload),start:s(f.start),notStopped:s(f.notStopped),skipped:s(f.skipped),newlyStarted:s(f.newlyStarted),failed:s(f.failed),failedUserUnits:s(f.failedUserUnits),failedUsers:s(E),restartSystemd:L,lines:A}}function O(w){const f=[];return w.failed.length&&f.push(`units failed: ${w.failed.join(", ")}`),w.failedUserUnits.length&&f.push(`user units failed: ${w.failedUserUnits.join(", ")}`),w.failedUsers.length&&f.push(`user activation failed for ${w.failedUsers.join(", ")}`),f.length?f.join("; "):"units failed: see the log"}}),526:((H,T,g)=>{g.d(T,{G:()=>$});var m=g(2091),y=g(23),r=g(428);const u="/run/nix-deploy",v="/nix/var/nix/profiles/system",x=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,S=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${v} 2>/dev/null || true)
  prof=$(readlink -f ${v} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act"
}
`,I=S+`
probe_state "$1"
`,M=S+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,O=x+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "$4" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,w=`
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s
' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,f=x+`
d=$1; id=$2; top=$3; act=$4
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${v} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${v} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s
' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" -- /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  setsid /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+E();function E(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const L=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+E(),A=`
d=$1; id=$2; n=0
while read -r beat; do
  [ -e "$d/rollback-$id.log" ] && { echo nix-deploy-fired; exit 92; }
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  echo $(( now + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
  n=$((n+1)); echo "$n $now" > "$d/beats-$id"
  echo "nix-deploy-beat $beat"
done
`,t=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,s=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,h=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,a=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,l=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,d=6e4;function o(k){const n=/system-(\d+)-link$/.exec(k.trim());return n?Number(n[1]):null}class ${session;remote;logger;constructor(n,i,e){this.session=n,this.remote=i,this.logger=e}get host(){return this.remote.host}script(n,i,e,c,p=d,b=!0){return(0,r.mW)(this.session,this.remote,n,i,{timeoutMs:p,phase:e,what:c,logger:this.logger,check:b})}async connect(n,i){const e=(this.session.settings.connectTimeout+30)*1e3,c=await this.session.connect(this.remote,{timeoutMs:e,logger:this.logger});if(c)throw(0,r.vU)(this.remote,c,{phase:n,what:i,timeoutMs:e})}async probe(n,i="probe"){const e=await this.script(I,[n],i,"reading the current system");return this.parseProbe(e.stdout.split(`
`),i)}parseProbe(n,i){const e=new Map;for(const c of n){const p=c.indexOf("=");p>0&&e.set(c.slice(0,p),c.slice(p+1).trim())}if(!e.has("current"))throw(0,m.FT)({host:this.host,phase:i,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");return{current:e.get("current")||null,generation:o(e.get("generation")??""),generationLink:/^system-\d+-link$/.test(e.get("generation")??"")?e.get("generation"):null,profile:e.get("profile")||null,bootId:e.get("boot")??"",systemd:e.get("systemd")==="yes",flock:e.get("flock")==="yes",hasWanted:e.get("has-wanted")==="yes",activatable:e.get("activatable")==="yes"}}async lock(n,i,e=""){const p=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",M,"nix-deploy",u,n,String(i),e],b=(0,y.kp)(this.session.sshArgv(this.remote,p.map(y.ZL).join(" ")),{timeoutMs:(i+60)*1e3,logger:this.logger}),P=await b.waitForLine(U=>U.startsWith("nix-deploy-lock-"),6e4);if(P==="nix-deploy-lock-acquired")return{state:this.parseProbe(b.lines,"lock"),release:async()=>{b.closeInput(),await Promise.race([b.done,new Promise(W=>setTimeout(W,5e3,null))])===null&&b.kill()}};b.kill();const C=await b.done,_={host:this.host,phase:"lock"};if(P?.startsWith("nix-deploy-lock-busy")){const U=P.slice(20).trim();throw(0,m.FT)({..._,kind:"busy"},`another deploy is running on this host${U?` (${U})`:""}; try again when it has finished`)}if(C.exitCode===r.M2)throw(0,m.FT)({..._,kind:"connection"},`could not connect: ${(0,r.eG)(C.stderr)}`);const R=C.stderr.trim().split(`
`).pop()??"";throw(0,m.FT)({..._,kind:"command",detail:C.stderr},`could not take the deploy lock${C.exitCode===127?" (flock is missing on the host)":R?`: ${R}`:""}`)}async armWatchdog(n,i,e,c,p,b){const P=[u,n,String(i),e??"",p,String(b),O,c??""];await this.script(w,P,"arm","arming the rollback watchdog")}async activate(n,i,e,c,p,b,P=""){const C=[u,n,i,e,c,String(p),P],_=await(0,r.mW)(this.session,this.remote,f,C,{timeoutMs:(p+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:b}),R=_.stdout.split(`
`).find(N=>N.startsWith("nix-deploy-profile ")),U=_.stdout.includes("nix-deploy-activation-started"),W=_.exitCode===r.M2||_.timedOut||U&&_.exitCode===null;return{exitCode:W?null:_.exitCode,output:_.stderr,connectionLost:W,profileLink:R?R.slice(19).trim():null}}async waitActivation(n,i){const e=await(0,r.mW)(this.session,this.remote,L,[u,n,"","","",String(i)],{timeoutMs:(i+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),c=e.exitCode===r.M2||e.timedOut;return{exitCode:c?null:e.exitCode,output:e.stderr,connectionLost:c}}heartbeatChannel(n,i,e){const p=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",A,"nix-deploy",u,n,String(i)];return(0,y.kp)(this.session.sshArgv(this.remote,p.map(y.ZL).join(" ")),{timeoutMs:e*1e3,logger:this.logger})}freshLogin(n){return(0,r.mW)(this.session,this.remote,"true",[],{timeoutMs:d,phase:n,what:"a new SSH connection to the host",privileged:!1,check:!1,fresh:!0,logger:this.logger})}async confirm(n){const i=await this.script(t,[u,n],"confirm","confirming the deployment",d,!1);if(i.exitCode===0)return"confirmed";if(i.exitCode===92)return"fired";throw(0,m.FT)({host:this.host,phase:"confirm",kind:i.exitCode===r.M2?"connection":"command"},i.exitCode===r.M2?`confirming failed: ${(0,r.eG)(i.stderr)}`:`confirming failed with exit code ${i.exitCode}`)}async disarm(n){const e=(await this.script(s,[u,n],"rollback","disarming the watchdog",10*d)).stdout.trim().split(`
`).pop()??"";return e.startsWith("fired")?{fired:!0,exit:e.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(n){const e=(await this.script(h,[u,n],"rollback","reading the watchdog",d)).stdout.split(`
`),c=(e.find(p=>p.startsWith("fired="))??"fired=no").slice(6);return{fired:c!=="no",exit:c==="no"?"":c,log:e.filter(p=>p.startsWith("log=")).map(p=>p.slice(4))}}async generations(n="resolve"){return(await this.script(a,[],n,"listing the system generations")).stdout.split(`
`).map(e=>/^(\d+) (\/\S+)$/.exec(e.trim())).filter(e=>e!==null).map(e=>({generation:Number(e[1]),storePath:e[2]})).sort((e,c)=>e.generation-c.generation)}async reboot(){await this.script(l,[],"reboot","rebooting the host")}async waitForBoot(n,i){const e=Date.now()+i*1e3;for(;Date.now()<e;){await new Promise(c=>setTimeout(c,1e3));try{const c=await this.probe("","reboot");if(c.bootId&&c.bootId!==n)return c}catch{}}return null}}}),3143:((H,T,g)=>{g.d(T,{Fm:()=>I,UD:()=>A,zw:()=>x});var m=g(2091),y=g(3709),r=g(5237);const u=`cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`,v=`d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`;async function x(t,s={}){const h=await(0,y.g1)(`${t}#nixosConfigurations`,{apply:u,logger:s.logger,cwd:s.cwd,phase:"evaluate",what:`evaluating the hosts of '${t}'`});if(h===void 0)throw new m.lZ(`The flake '${t}' has no nixosConfigurations output, so it has no hosts.`,{phase:"evaluate",input:"flake"});const a=await(0,y.g1)(`${t}#deploy`,{apply:v,logger:s.logger,cwd:s.cwd,phase:"evaluate",what:`evaluating deploy.nodes of '${t}'`});return Object.keys(h).sort().map(l=>S(l,h[l],a))}function S(t,s,h){(0,r.Eo)(t,"A nixosConfigurations attribute name");const a=Array.isArray(s.tags)?s.tags:[];for(const l of a)if(!/^[A-Za-z0-9._-]{1,64}$/.test(l))throw new m.lZ(`Host ${t} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,{host:t,phase:"evaluate"});try{return{name:t,system:s.system,hostName:s.hostName,fqdn:s.fqdn,tags:a,...M(t,s,h)}}catch(l){if(!(l instanceof m.lZ))throw l;return{name:t,system:s.system,hostName:s.hostName,fqdn:s.fqdn,tags:a,target:null,targetError:l,targetSource:"",sshOptions:[]}}}function I(t){if(t.target)return t.target;throw t.targetError??new m.lZ(`Host ${t.name} has no SSH target.`,{host:t.name})}function M(t,s,h){const a=h?.nodes?.[t];let l,d,o=[];if(a?.hostname){d=`Host ${t}'s deploy.nodes.${t}.hostname`;const $=a.sshUser??h?.sshUser??null;l=(0,r.hu)($?`${$}@${O(a.hostname)}`:O(a.hostname),d);const k=[...w(h?.sshOpts),...w(a.sshOpts)];o=E(k,`deploy.nodes.${t}.sshOpts`,t);const n=o.indexOf("-p");n>=0&&(l={...l,port:Number(o[n+1])},o=[...o.slice(0,n),...o.slice(n+2)])}else if(s.targetHost){d=`Host ${t}'s config.deployment.targetHost`;let $=O(s.targetHost);s.targetUser&&($=`${s.targetUser}@${$}`),s.targetPort&&($=`${$}:${s.targetPort}`),l=(0,r.hu)($,d)}else s.fqdn?(d=`Host ${t}'s config.networking.fqdn`,l=(0,r.hu)(s.fqdn,d)):s.hostName?(d=`Host ${t}'s config.networking.hostName`,l=(0,r.hu)(s.hostName,d)):(d=`Host ${t}'s attribute name`,l=(0,r.hu)(t,d));return{target:l,targetSource:d,sshOptions:o}}function O(t){return t.includes(":")&&!t.startsWith("[")?`[${t}]`:t}function w(t){return Array.isArray(t)?t.filter(s=>typeof s=="string"):[]}const f=new Set(["port","connecttimeout","connectionattempts","serveraliveinterval","serveralivecountmax","compression","ipqos","addressfamily","tcpkeepalive","proxyjump"]);function E(t,s,h){const a=[],l=(d,o)=>{throw new m.lZ(`Host ${h}: ${s} contains the ssh option '${L(d)}', which is not allowed from flake data (${o}); pass it through the workflow's 'ssh-options' input instead.`,{host:h,phase:"evaluate"})};for(let d=0;d<t.length;d++){const o=t[d];if(o==="-4"||o==="-6"||o==="-C")a.push(o);else if(o==="-p"||o.startsWith("-p")){const $=o==="-p"?t[++d]:o.slice(2);(!$||!/^\d{1,5}$/.test($))&&l(o,"the port must be a number"),a.push("-p",$)}else if(o==="-J"||o.startsWith("-J")){const $=o==="-J"?t[++d]:o.slice(2);$||l(o,"a jump host is missing"),(0,r.hu)($,`${s} (-J)`),a.push("-J",$)}else if(o==="-o"||o.startsWith("-o")){const $=o==="-o"?t[++d]:o.slice(2),k=/^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec($??"");k||l($??o,"expected -o Key=Value"),f.has(k[1].toLowerCase())||l(`-o${$}`,`'${k[1]}' can run commands or weaken host key checking`),a.push("-o",`${k[1]}=${k[2]}`)}else l(o,"only -p, -J, -4, -6, -C and a few -o options are accepted")}return a}function L(t){const s=JSON.stringify(t).slice(1,-1);return s.length>60?`${s.slice(0,57)}...`:s}async function A(t,s,h={}){for(const o of s)(0,r.Eo)(o,`host '${o}'`);const l=`cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${`[ ${s.map(y.z7).join(" ")} ]`}))`;return await(0,y.g1)(`${t}#nixosConfigurations`,{apply:l,logger:h.logger,cwd:h.cwd,phase:h.phase??"evaluate",what:`evaluating the toplevel derivations of ${s.length} host(s) in '${t}'`})??{}}}),1031:((H,T,g)=>{g.d(T,{L:()=>y,a:()=>m});function m(r){if(r<1e3)return`${r} ms`;const u=r/1e3;if(u<60)return`${u.toFixed(1)} s`;const v=Math.floor(u/60);return`${v} min ${Math.round(u-v*60)} s`}function y(r,u,v=`${u}s`){return`${r} ${r===1?u:v}`}})};export{D as id,j as ids,F as modules};
